package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/site"
)

// TestEveryMessageHasEveryLanguage fails when a key lacks Swedish or
// English, or when their fmt verbs differ.
func TestEveryMessageHasEveryLanguage(t *testing.T) {
	if err := site.CheckMessages(); err != nil {
		t.Fatal(err)
	}
	if len(site.MessageKeys()) < 20 {
		t.Fatalf("catalogue holds only %d keys; are the messages files registered?", len(site.MessageKeys()))
	}
}

var (
	templateKey = regexp.MustCompile(`\.TH? "([^"]+)"`)
	// templateCols finds a "cols" call, whose arguments are message keys.
	templateCols = regexp.MustCompile(`\(cols((?: "[^"]+")+)\)`)
	quoted       = regexp.MustCompile(`"([^"]+)"`)
)

// TestTemplatesUseOnlyKnownMessages fails when a template names a message
// key the catalogue does not hold.
func TestTemplatesUseOnlyKnownMessages(t *testing.T) {
	for n, b := range templateFiles(t) {
		keys := templateKey.FindAllStringSubmatch(b, -1)
		for _, c := range templateCols.FindAllStringSubmatch(b, -1) {
			keys = append(keys, quoted.FindAllStringSubmatch(c[1], -1)...)
		}
		for _, m := range keys {
			if !site.HasMessage(m[1]) {
				t.Errorf("%s: message %q is not in the catalogue", n, m[1])
			}
		}
	}
}

// templateFiles returns every page template's text by file name.
func templateFiles(t *testing.T) map[string]string {
	t.Helper()
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(templateFS, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := Config{MasterdataURL: "ftp://x", DeliveryURL: "", RegistryURL: "http://r", SessionIdle: -1}.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"MasterdataURL", "DeliveryURL: required", "SessionIdle"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New must refuse an invalid config")
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{"SAMNAV_MASTERDATA_URL": "http://md:8080", "SAMNAV_REGISTRY_URL": "http://reg:8081", "SAMNAV_CONSOLE_SESSION_IDLE": "5m"}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DeliveryURL != "http://md:8080" || cfg.SessionIdle != 5*time.Minute || cfg.Validate() != nil {
		t.Fatalf("config %+v: %v", cfg, cfg.Validate())
	}
	env["SAMNAV_CONSOLE_SESSION_IDLE"] = "soon"
	if _, err := LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SAMNAV_CONSOLE_SESSION_IDLE") {
		t.Fatalf("bad duration: %v", err)
	}
}

var goKey = regexp.MustCompile(`(?:\.T|NotFound|BadRequest)\("([^"]+)"[,)]|Label:\s*"([a-z][^"]*)"\s*[,}]`)

// TestCodeUsesOnlyKnownMessages fails when Go code names a message key
// the catalogue does not hold, or when a key made from a model or role
// value (type.*, pd.*, role.*, kind.*) or an area's name (its menu
// entry's nav.*) is missing.
func TestCodeUsesOnlyKnownMessages(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + m[2]
			n++
			if !site.HasMessage(key) {
				t.Errorf("%s: message %q is not in the catalogue", f, key)
			}
		}
	}
	if n < 50 {
		t.Fatalf("found only %d message keys in the code; is the pattern right?", n)
	}
	var keys []string
	for _, ty := range model.Types {
		keys = append(keys, "type."+string(ty))
	}
	for _, pd := range []model.PersonalData{model.Ordinary, model.Sensitive, model.IdentityNumber} {
		keys = append(keys, "pd."+string(pd))
	}
	for _, r := range auth.Roles {
		keys = append(keys, "role."+string(r))
	}
	for _, k := range []string{"created", "updated", "ended", "erased", "resynced"} {
		keys = append(keys, "kind."+k)
	}
	for _, f := range site.Features() {
		for _, e := range f.Nav {
			keys = append(keys, e.Label)
		}
	}
	for _, k := range keys {
		if !site.HasMessage(k) {
			t.Errorf("message %q is missing", k)
		}
	}
}

// tableInRegion is a table with the scrolling region it must sit in.
var tableInRegion = regexp.MustCompile(`<div class="table-scroll" role="region" aria-label=".+?" tabindex="0">\s*<table[ >]`)

// TestTablesScrollInTheirOwnRegion: a wide table (the attributes of a
// concept) must not make the whole page scroll sideways; each table sits in
// a focusable, labelled region that scrolls instead (WCAG 1.4.10, 2.1.1).
func TestTablesScrollInTheirOwnRegion(t *testing.T) {
	for n, b := range templateFiles(t) {
		if tables, regions := strings.Count(b, "<table"), len(tableInRegion.FindAllString(b, -1)); tables != regions {
			t.Errorf("%s: %d tables, %d in a scrolling region", n, tables, regions)
		}
	}
}

// TestReadmeListsEveryPage: the README's pages table names the page of
// every menu entry, so a newcomer finds each page there.
func TestReadmeListsEveryPage(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(b), "## Pages")
	table, _, _ = strings.Cut(table, "\n## ")
	n := 0
	for _, f := range site.Features() {
		for _, e := range f.Nav {
			n++
			if !strings.Contains(table, "| `"+e.Path+"`") {
				t.Errorf("README's pages table lacks %s (feature %s)", e.Path, f.Name)
			}
		}
	}
	if n < 6 {
		t.Fatalf("only %d menu entries found", n)
	}
}
