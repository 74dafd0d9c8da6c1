package site

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/samnav/samnav/services/console/internal/i18n"
)

func TestCatalogueRefusesDuplicateKeys(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a key defined twice must panic")
		}
	}()
	Messages(map[string]i18n.Message{"app.name": {SV: "x", EN: "y"}})
}

func TestLoadMessagesNamesTheFile(t *testing.T) {
	for name, tc := range map[string]struct {
		files fstest.MapFS
		want  string
	}{
		"no file":      {fstest.MapFS{"other.yaml": {Data: []byte("a:\n  sv: x\n  en: y\n")}}, "no messages_*.yaml file"},
		"bad file":     {fstest.MapFS{"messages_x.yaml": {Data: []byte("a:\n  sv: x\n  fr: y\n")}}, "messages_x.yaml: decode messages"},
		"existing key": {fstest.MapFS{"messages_y.yaml": {Data: []byte("app.name:\n  sv: x\n  en: y\n")}}, `messages_y.yaml: message "app.name": defined twice`},
	} {
		func() {
			defer func() {
				if got := fmt.Sprint(recover()); !strings.Contains(got, tc.want) {
					t.Errorf("%s: panic %q, want one saying %s", name, got, tc.want)
				}
			}()
			LoadMessages(tc.files)
		}()
	}
	if !HasMessage("app.name") || HasMessage("a") {
		t.Error("the embedded files load and a refused file adds nothing")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/records/unit": "/records/unit", "": "/", "//evil.example": "/", "https://evil.example/": "/",
		"/\\evil": "/", "records": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
