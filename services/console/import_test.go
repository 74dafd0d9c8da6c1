package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/services/console/internal/api"
)

// postFile sends a multipart form with one file, with the last page's
// CSRF token.
func (b *browser) postFile(path string, fields map[string]string, fileField, fileName, content string) page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, ok := fields["csrf"]; !ok {
		_ = mw.WriteField("csrf", b.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile(fileField, fileName)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = fw.Write([]byte(content))
	if err := mw.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.base+path, &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// waitImport waits until the import job finishes (no timing involved:
// the console's background work ends when the job does). The pages read
// afterwards show the job by its id.
func (h *hub) waitImport(string) {
	h.console.site.Wait()
}

// unitsCSV is an import file of five units, three of them rejected for
// different reasons; the records package's fuzz test seeds with it too.
var unitsCSV = func() string {
	b, err := os.ReadFile("internal/records/testdata/units.csv")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestImportWithProgressAndRejectedRows(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	b := h.browser(tok)
	p := b.get("/import")
	mustContain(t, p, `enctype="multipart/form-data"`, `<option value="unit"`, `<label for="file">`)
	mustNotContain(t, p, `<option value="person"`) // mastered by the population register

	p = b.postFile("/import", map[string]string{"concept": "unit", "reason": "old register"}, "file", "units.csv", unitsCSV)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/import/") {
		t.Fatalf("start: %d %q: %s", p.status, p.location, p.body)
	}
	id := strings.TrimPrefix(p.location, "/import/")
	h.waitImport(id)

	p = b.get(p.location)
	mustContain(t, p, `data-poll="/import/`+id+`/progress"`, "4 av 4 rader behandlade: 1 skapade, 3 avvisade", "Importen är klar.",
		`href="/import/`+id+`/rejected.csv"`)
	frag := b.get("/import/" + id + "/progress?lang=en")
	mustContain(t, frag, "data-done", "4 of 4 rows processed: 1 created, 3 rejected")
	mustNotContain(t, frag, "<html")
	// The page words each rejected row's problem in the reader's language.
	mustContain(t, p, "är inte en av de tillåtna koderna", "måste vara ett heltal", "har fel format")
	mustContain(t, frag, "is not one of the allowed codes", "must be a whole number", "has the wrong format")
	mustNotContain(t, p, "is not one of", "must match")

	csvPage := b.get("/import/" + id + "/rejected.csv")
	if ct := csvPage.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(csvPage.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[0]+" "+r[1]+" "+r[2]] = true
	}
	for _, want := range []string{"3 unitType enum", "5 capacity type", "6 openingHours[0].opens pattern"} {
		if !got[want] {
			t.Errorf("rejected rows %v lack %q", rows, want)
		}
	}
	if rows[0][0] != "row" || rows[0][1] != "field" || rows[0][2] != "rule" {
		t.Fatalf("header %v", rows[0])
	}

	page, err := h.api.ListRecords(context.Background(), tok, "unit", api.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].State["name"] != "Solskolan" {
		t.Fatalf("records after import: %+v", page.Records)
	}
	hist, err := h.api.History(context.Background(), tok, "unit", page.Records[0].ID)
	if err != nil || hist[0].Reason != "old register" {
		t.Fatalf("history %+v %v: the import's reason must be recorded", hist, err)
	}

	// Another person cannot see the job.
	other := h.browser(h.token("bertil", steward("unit")))
	if p := other.get("/import/" + id); p.status != http.StatusNotFound {
		t.Fatalf("someone else's import: %d, want 404", p.status)
	}
	if p := other.get("/import/" + id + "/rejected.csv"); p.status != http.StatusNotFound {
		t.Fatalf("someone else's rejected rows: %d, want 404", p.status)
	}
}

func TestImportRefusesABadFileAndChangesNothing(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	b := h.browser(tok)
	b.get("/import")
	for name, tc := range map[string]struct{ csv, want string }{
		"unknown column": {"name,colour\nA,red\n", `column 2 \&#34;colour\&#34;: is not a value attribute of unit`},
		"empty":          {"", "file: is empty"},
		"header only":    {"name,unitType\n", "file: holds no rows after the header"},
	} {
		p := b.postFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", tc.csv)
		if p.status != http.StatusBadRequest {
			t.Fatalf("%s: %d, want 400", name, p.status)
		}
		want := strings.ReplaceAll(tc.want, `\&`, "&")
		mustContain(t, p, `id="error-summary"`, `href="#file"`, want)
	}
	p := b.postFile("/import", map[string]string{"concept": "unit"}, "file", "u.csv", unitsCSV)
	if p.status != http.StatusBadRequest {
		t.Fatalf("no reason: %d", p.status)
	}
	mustContain(t, p, `href="#reason"`)
	if h.count(tok, "unit") != 0 {
		t.Fatal("a refused import created records")
	}

	// A steward without a grant for the concept is refused, and nothing changes.
	nb := h.browser(h.token("bo", steward("namnd")))
	nb.get("/import")
	p = nb.postFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", unitsCSV)
	if p.status != http.StatusForbidden {
		t.Fatalf("import without grant: %d, want 403", p.status)
	}
	if h.count(tok, "unit") != 0 {
		t.Fatal("a refused import created records")
	}
	// Without the CSRF token nothing starts.
	p = b.postFile("/import", map[string]string{"concept": "unit", "reason": "x", "csrf": "forged"}, "file", "u.csv", unitsCSV)
	if p.status != http.StatusForbidden || h.count(tok, "unit") != 0 {
		t.Fatalf("forged import: %d", p.status)
	}
}

// gate holds every create call until released, so a test can look at an
// import in the middle without depending on timing.
type gate struct {
	release chan struct{}
	arrived chan struct{}
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost {
		select {
		case g.arrived <- struct{}{}:
		default:
		}
		<-g.release
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestImportProgressWhileRunning(t *testing.T) {
	g := &gate{release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	h := startHub(t, func(c *Config) { c.HTTPClient = &http.Client{Transport: g} })
	release := sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release) // before the console's Close, which waits for the import
	b := h.browser(h.token("anna", steward("unit")))
	b.get("/import")
	p := b.postFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", unitsCSV)
	if p.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	id := strings.TrimPrefix(p.location, "/import/")
	<-g.arrived // the first row's create call is held

	p = b.get(p.location)
	mustContain(t, p, "0 av 4 rader behandlade", `href="/import/`+id+`">Uppdatera förloppet</a>`, `<progress max="4" value="0"`)
	mustNotContain(t, p, "data-done")
	mustContain(t, b.get("/import"), "Dina importer", "u.csv")

	release()
	h.waitImport(id)
	mustContain(t, b.get("/import/"+id+"/progress"), "data-done", "4 av 4 rader behandlade: 1 skapade, 3 avvisade")
}

func TestImportStopsWhenTheAPIRefusesTheToken(t *testing.T) {
	h := startHub(t)
	tok := h.token("anna", steward("unit"))
	b := h.browser(tok)
	// The token is revoked after sign-in: the API refuses the first row and
	// the import stops instead of failing every row.
	rec, err := h.md.Tokens().Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	b.get("/import")
	if err := h.md.Tokens().Store.RevokeToken(context.Background(), rec.CredentialID, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := b.postFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", unitsCSV)
	if p.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	id := strings.TrimPrefix(p.location, "/import/")
	h.waitImport(id)
	mustContain(t, b.get(p.location), "Importen avbröts: tjänsten nekade din token", "1 av 4 rader behandlade: 0 skapade, 1 avvisade")
}

func TestCancelAnImport(t *testing.T) {
	g := &gate{release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	h := startHub(t, func(c *Config) { c.HTTPClient = &http.Client{Transport: g} })
	release := sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release)
	tok := h.token("anna", steward("unit"))
	b := h.browser(tok)
	b.get("/import")
	p := b.postFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", unitsCSV)
	id := strings.TrimPrefix(p.location, "/import/")
	<-g.arrived // the first row is being created

	mustContain(t, b.get("/import/"+id), `action="/import/`+id+`/cancel"`)
	if p := b.post("/import/"+id+"/cancel", nil); p.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", p.status)
	}
	release()
	h.waitImport(id)
	// The row being created when the cancel came finished; no other started.
	mustContain(t, b.get("/import/"+id), "Importen avbröts på din begäran", "1 av 4 rader behandlade: 1 skapade, 0 avvisade")
	if n := h.count(tok, "unit"); n != 1 {
		t.Fatalf("%d records after a cancel at the first row", n)
	}
}
