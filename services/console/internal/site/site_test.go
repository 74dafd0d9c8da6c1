package site

import (
	"testing"

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
