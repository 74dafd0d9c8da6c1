package i18n_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/services/console/internal/i18n"
)

func TestCatalogue(t *testing.T) {
	c := i18n.NewCatalogue()
	if err := c.Add(map[string]i18n.Message{"hello": {SV: "Hej %s", EN: "Hello %s"}}); err != nil {
		t.Fatal(err)
	}
	if got := c.T(i18n.SV, "hello", "Anna"); got != "Hej Anna" {
		t.Errorf("sv: %q", got)
	}
	if got := c.T(i18n.EN, "hello", "Anna"); got != "Hello Anna" {
		t.Errorf("en: %q", got)
	}
	if got := c.T(i18n.EN, "nope"); got != "[nope]" {
		t.Errorf("missing key: %q, want it visible as [nope]", got)
	}
	if err := c.Add(map[string]i18n.Message{"hello": {SV: "x", EN: "y"}, "new": {SV: "a", EN: "b"}}); err == nil || !strings.Contains(err.Error(), `"hello"`) {
		t.Fatalf("duplicate: %v", err)
	}
	if c.Has("new") {
		t.Error("a refused Add must add nothing")
	}
}

func TestCheckNamesKeyAndRule(t *testing.T) {
	c := i18n.NewCatalogue()
	_ = c.Add(map[string]i18n.Message{
		"ok":       {SV: "%[1]s och %[1]s", EN: "%[1]s and %[1]s"},
		"noen":     {SV: "bara svenska"},
		"nosv":     {EN: "English only"},
		"verbs":    {SV: "%d rader", EN: "%s rows"},
		"verbs.ok": {SV: "%d av %d", EN: "%d of %d"},
	})
	err := c.Check()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`"noen": en: required`, `"nosv": sv: required`, `"verbs": verbs`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not say %s", err, want)
		}
	}
	for _, notWant := range []string{`"ok"`, `"verbs.ok"`} {
		if strings.Contains(err.Error(), notWant) {
			t.Errorf("%v blames %s", err, notWant)
		}
	}
}

func TestParse(t *testing.T) {
	if l, ok := i18n.Parse("en"); !ok || l != i18n.EN {
		t.Error("en")
	}
	if _, ok := i18n.Parse("de"); ok {
		t.Error("de is not a console language")
	}
	if i18n.Default != i18n.SV || i18n.SV.Other() != i18n.EN || i18n.EN.Other() != i18n.SV {
		t.Error("Swedish is the default and switches to English")
	}
}

func TestDecode(t *testing.T) {
	ms, err := i18n.Decode([]byte("# a comment\nhello:\n  sv: 'Hej %s: välkommen'\n  en: \"Hello %s: welcome\"\nno:\n  sv: Nej\n  en: \"No\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]i18n.Message{"hello": {SV: "Hej %s: välkommen", EN: "Hello %s: welcome"}, "no": {SV: "Nej", EN: "No"}}
	if len(ms) != len(want) || ms["hello"] != want["hello"] || ms["no"] != want["no"] {
		t.Fatalf("decoded %+v, want %+v", ms, want)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"key twice":        {"a:\n  sv: x\n  en: y\na:\n  sv: z\n  en: w\n", `"a" already defined`},
		"unknown language": {"a:\n  sv: x\n  de: y\n", "field de not found"},
		"not a mapping":    {"- a\n- b\n", "line 1"},
		"text not a pair":  {"a: text\n", "line 1"},
	} {
		if _, err := i18n.Decode([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %s", name, err, tc.want)
		}
	}
}
