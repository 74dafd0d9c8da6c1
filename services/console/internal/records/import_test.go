package records_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console"
	"github.com/samnav/samnav/services/console/internal/consoletest"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

func TestImportWithProgressAndRejectedRows(t *testing.T) {
	h := consoletest.StartHub(t)
	tok, b := h.SignIn("anna", consoletest.Steward("unit"))
	p := b.Get("/import")
	consoletest.MustContain(t, p, `enctype="multipart/form-data"`, `<option value="unit"`, `<label for="file">`)
	consoletest.MustNotContain(t, p, `<option value="person"`) // mastered by the population register

	p = b.PostFile("/import", map[string]string{"concept": "unit", "reason": "old register"}, "file", "units.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/import/") {
		t.Fatalf("start: %d %q: %s", p.Status, p.Location, p.Body)
	}
	id := strings.TrimPrefix(p.Location, "/import/")
	h.WaitImport(id)

	p = b.Get(p.Location)
	consoletest.MustContain(t, p, `data-poll="/import/`+id+`/progress"`, "4 av 4 rader behandlade: 1 skapade, 3 avvisade", "Importen är klar.",
		`href="/import/`+id+`/rejected.csv"`)
	frag := b.Get("/import/" + id + "/progress?lang=en")
	consoletest.MustContain(t, frag, "data-done", "4 of 4 rows processed: 1 created, 3 rejected")
	consoletest.MustNotContain(t, frag, "<html")
	// The page words each rejected row's problem in the reader's language.
	consoletest.MustContain(t, p, "är inte en av de tillåtna koderna", "måste vara ett heltal", "har fel format")
	consoletest.MustContain(t, frag, "is not one of the allowed codes", "must be a whole number", "has the wrong format")
	consoletest.MustNotContain(t, p, "is not one of", "must match")

	csvPage := b.Get("/import/" + id + "/rejected.csv")
	if ct := csvPage.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(csvPage.Body)).ReadAll()
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

	page, err := h.API.Masterdata(tok).List(context.Background(), "unit", masterdata.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].State["name"] != "Solskolan" {
		t.Fatalf("records after import: %+v", page.Records)
	}
	hist, err := h.API.Masterdata(tok).History(context.Background(), "unit", page.Records[0].ID)
	if err != nil || hist[0].Reason != "old register" {
		t.Fatalf("history %+v %v: the import's reason must be recorded", hist, err)
	}

	// Another person cannot see the job.
	other := h.BrowserAs("bertil", consoletest.Steward("unit"))
	if p := other.Get("/import/" + id); p.Status != http.StatusNotFound {
		t.Fatalf("someone else's import: %d, want 404", p.Status)
	}
	if p := other.Get("/import/" + id + "/rejected.csv"); p.Status != http.StatusNotFound {
		t.Fatalf("someone else's rejected rows: %d, want 404", p.Status)
	}
}

func TestImportRefusesABadFileAndChangesNothing(t *testing.T) {
	h := consoletest.StartHub(t)
	tok, b := h.SignIn("anna", consoletest.Steward("unit"))
	b.Get("/import")
	for name, tc := range map[string]struct{ csv, want string }{
		"unknown column": {"name,colour\nA,red\n", `column 2 \&#34;colour\&#34;: is not a value attribute of unit`},
		"empty":          {"", "file: is empty"},
		"header only":    {"name,unitType\n", "file: holds no rows after the header"},
	} {
		p := b.PostFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", tc.csv)
		if p.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d, want 400", name, p.Status)
		}
		want := strings.ReplaceAll(tc.want, `\&`, "&")
		consoletest.MustContain(t, p, `id="error-summary"`, `href="#file"`, want)
	}
	p := b.PostFile("/import", map[string]string{"concept": "unit"}, "file", "u.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("no reason: %d", p.Status)
	}
	consoletest.MustContain(t, p, `href="#reason"`)
	if h.Count(tok, "unit") != 0 {
		t.Fatal("a refused import created records")
	}

	// A steward without a grant for the concept is refused, and nothing changes.
	nb := h.BrowserAs("bo", consoletest.Steward("namnd"))
	nb.Get("/import")
	p = nb.PostFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusForbidden {
		t.Fatalf("import without grant: %d, want 403", p.Status)
	}
	if h.Count(tok, "unit") != 0 {
		t.Fatal("a refused import created records")
	}
	// Without the CSRF token nothing starts.
	p = b.PostFile("/import", map[string]string{"concept": "unit", "reason": "x", "csrf": "forged"}, "file", "u.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusForbidden || h.Count(tok, "unit") != 0 {
		t.Fatalf("forged import: %d", p.Status)
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
	h := consoletest.StartHub(t, func(c *console.Config) { c.HTTPClient = &http.Client{Transport: g} })
	release := sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release) // before the console's Close, which waits for the import
	b := h.BrowserAs("anna", consoletest.Steward("unit"))
	b.Get("/import")
	p := b.PostFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.Status, p.Body)
	}
	id := strings.TrimPrefix(p.Location, "/import/")
	<-g.arrived // the first row's create call is held

	p = b.Get(p.Location)
	consoletest.MustContain(t, p, "0 av 4 rader behandlade", `href="/import/`+id+`">Uppdatera förloppet</a>`, `<progress max="4" value="0"`)
	consoletest.MustNotContain(t, p, "data-done")
	consoletest.MustContain(t, b.Get("/import"), "Dina importer", "u.csv")

	release()
	h.WaitImport(id)
	consoletest.MustContain(t, b.Get("/import/"+id+"/progress"), "data-done", "4 av 4 rader behandlade: 1 skapade, 3 avvisade")
}

// staleVerifier answers every token it has verified once as it did then:
// a console that checked the session's token just before it was revoked,
// so that the API is the first to refuse it.
type staleVerifier struct {
	next console.TokenVerifier
	mu   sync.Mutex
	seen map[string]*auth.Principal
}

func (v *staleVerifier) Verify(ctx context.Context, token string) (*auth.Principal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p, ok := v.seen[token]; ok {
		return p, nil
	}
	p, err := v.next.Verify(ctx, token)
	if err == nil {
		v.seen[token] = p
	}
	return p, err
}

func TestImportStopsWhenTheAPIRefusesTheToken(t *testing.T) {
	h := consoletest.StartHub(t, func(c *console.Config) {
		c.Verifier = &staleVerifier{next: c.Verifier, seen: map[string]*auth.Principal{}}
	})
	tok, b := h.SignIn("anna", consoletest.Steward("unit"))
	// The token is revoked after the console last checked it: the API
	// refuses the first row and the import stops instead of failing every
	// row. (A session whose token is revoked before a request ends then:
	// the console's authorisation table.)
	rec, err := h.MD.Tokens().Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	b.Get("/import")
	if err := h.MD.Tokens().Store.RevokeToken(context.Background(), rec.CredentialID, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := b.PostFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", consoletest.UnitsCSV)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.Status, p.Body)
	}
	id := strings.TrimPrefix(p.Location, "/import/")
	h.WaitImport(id)
	consoletest.MustContain(t, b.Get(p.Location), "Importen avbröts: tjänsten nekade din token", "1 av 4 rader behandlade: 0 skapade, 1 avvisade")
}

func TestCancelAnImport(t *testing.T) {
	g := &gate{release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	h := consoletest.StartHub(t, func(c *console.Config) { c.HTTPClient = &http.Client{Transport: g} })
	release := sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release)
	tok, b := h.SignIn("anna", consoletest.Steward("unit"))
	b.Get("/import")
	p := b.PostFile("/import", map[string]string{"concept": "unit", "reason": "x"}, "file", "u.csv", consoletest.UnitsCSV)
	id := strings.TrimPrefix(p.Location, "/import/")
	<-g.arrived // the first row is being created

	consoletest.MustContain(t, b.Get("/import/"+id), `action="/import/`+id+`/cancel"`)
	if p := b.Post("/import/"+id+"/cancel", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", p.Status)
	}
	release()
	h.WaitImport(id)
	// The row being created when the cancel came finished; no other started.
	consoletest.MustContain(t, b.Get("/import/"+id), "Importen avbröts på din begäran", "1 av 4 rader behandlade: 1 skapade, 0 avvisade")
	if n := h.Count(tok, "unit"); n != 1 {
		t.Fatalf("%d records after a cancel at the first row", n)
	}
}
