package records

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/session"
	"github.com/samnav/samnav/services/console/internal/site"
)

// Bulk import: a CSV file whose header names the attributes becomes one
// create call per row, run in the background with the steward's own
// token; a progress page follows it and the rejected rows can be
// downloaded as CSV.

const (
	// maxImportBytes bounds an uploaded file.
	maxImportBytes = 32 << 20
	// maxImportRows bounds the rows of one import.
	maxImportRows = 100_000
	// keepJobs is how many finished imports are remembered.
	keepJobs = 100
)

var _ = site.Register(site.Area[*pages]{
	Name: "import", Order: 25, Visible: mayImport,
	New:    func(st *site.Site) *pages { return &pages{Site: st, imports: newImportJobs()} },
	Before: (*pages).nameReferences,
	Pages: []site.Route[*pages]{
		{Path: "/import", Show: (*pages).importPage, Submit: (*pages).startImport},
		{Path: "/import/{job}", Show: (*pages).importJobPage},
		{Path: "/import/{job}/progress", Show: (*pages).importProgress},
		{Path: "/import/{job}/rejected.csv", Show: (*pages).importRejectedCSV},
		{Path: "/import/{job}/cancel", Submit: (*pages).cancelImport},
	},
})

// mayImport reports whether p may write records of some concept: the
// import menu entry is shown only then.
func mayImport(p *auth.Principal) bool {
	return p.Can(auth.ActionWrite, auth.AnyConcept) || len(readableConcepts(p)) > 0
}

// importJobs holds the imports of this process. Safe for concurrent use.
type importJobs struct {
	mu    sync.Mutex
	jobs  map[string]*importJob
	order []string
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

func (js *importJobs) add(j *importJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.jobs[j.ID] = j
	js.order = append(js.order, j.ID)
	// Forget the oldest finished jobs beyond keepJobs.
	for i := 0; len(js.order) > keepJobs && i < len(js.order); {
		old := js.jobs[js.order[i]]
		if old.snapshot().Finished {
			delete(js.jobs, old.ID)
			js.order = slices.Delete(js.order, i, i+1)
			continue
		}
		i++
	}
}

func (js *importJobs) get(id string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.jobs[id]
}

// of returns the jobs started by the owner, newest first.
func (js *importJobs) of(owner string) []*importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	var out []*importJob
	for i := len(js.order) - 1; i >= 0; i-- {
		if j := js.jobs[js.order[i]]; j.Owner == owner {
			out = append(out, j)
		}
	}
	return out
}

// rejected is one problem of one row.
type rejected struct {
	Row     int // the row in the file, the header being row 1
	Field   string
	Rule    string
	Message string
}

// importJob is one import. Its fields after mu are guarded by it; read
// them through snapshot.
type importJob struct {
	ID      string
	Owner   string
	Concept string
	File    string
	Reason  string
	Total   int
	Started time.Time
	done    chan struct{}

	mu       sync.Mutex
	state    importState
	rejected []rejected
	// cancelled asks the job to stop before its next row; the row being
	// created finishes, so every row is either created or not started.
	cancelled bool
}

type importState struct {
	Processed, Created, RejectedRows int
	Finished                         bool
	// Failure says why the import stopped before its last row.
	Failure    string
	FinishedAt time.Time
}

func (j *importJob) snapshot() importState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

func (j *importJob) rejectedRows() []rejected {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.rejected)
}

// ownerOf names who may see a job: the principal and the token used.
func ownerOf(p *auth.Principal) string { return p.Subject + "\x00" + p.CredentialID }

// importRow is one row of the file as form values, with its row number.
type importRow struct {
	Row    int
	Values url.Values
}

// parseImport reads a CSV file for concept c: the header names
// attributes by path ("name", "registeredAddress.postalCode",
// "openingHours[0].dayOfWeek"), a list of plain values holds its items
// separated by "|". It refuses, naming the column or row and the rule, a
// file it cannot import at all. Cells are separated by commas, or by
// semicolons when the header has more of them.
func parseImport(c *model.Concept, data []byte) ([]importRow, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a spreadsheet's byte-order mark
	rd := csv.NewReader(bytes.NewReader(data))
	rd.FieldsPerRecord = 0
	// Spreadsheets set to Swedish write CSV with semicolons; the header
	// (attribute names hold neither) tells which.
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		rd.Comma = ';'
	}
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("file: is empty; the first row must name the attributes")
	}
	if err != nil {
		return nil, fmt.Errorf("row 1: %w", err)
	}
	var errs []error
	lists := map[int]bool{}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		a := attributeAt(c.Attributes, h)
		switch {
		case h == "":
			errs = append(errs, fmt.Errorf("column %d: the header must name an attribute", i+1))
		case a == nil || a.Type == model.Record || (a.Type == model.List && a.Items != nil && a.Items.Type == model.Record):
			errs = append(errs, fmt.Errorf("column %d %q: is not a value attribute of %s (nested ones as a.b, list items as a[0].b)", i+1, h, c.ID))
		case seen[h]:
			errs = append(errs, fmt.Errorf("column %d %q: named twice", i+1, h))
		}
		seen[h] = true
		lists[i] = a != nil && a.Type == model.List
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var rows []importRow
	for n := 2; ; n++ {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", n, err)
		}
		if len(rows) >= maxImportRows {
			return nil, fmt.Errorf("file: more than %d rows; split it", maxImportRows)
		}
		v := url.Values{}
		empty := true
		for i, cell := range rec {
			if strings.TrimSpace(cell) != "" {
				empty = false
			}
			if lists[i] {
				cell = strings.ReplaceAll(cell, "|", "\n")
			}
			v.Set(header[i], cell)
		}
		if !empty {
			rows = append(rows, importRow{Row: n, Values: v})
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("file: holds no rows after the header")
	}
	return rows, nil
}

// attributeAt finds the attribute at a form path such as "a.b" or
// "a[0].b".
func attributeAt(attrs []*model.Attribute, path string) *model.Attribute {
	name, rest, nested := strings.Cut(path, ".")
	idx := ""
	if i := strings.IndexByte(name, '['); i >= 0 {
		name, idx = name[:i], name[i:]
	}
	var a *model.Attribute
	for _, x := range attrs {
		if x.Name == name {
			a = x
		}
	}
	if a == nil {
		return nil
	}
	if idx != "" {
		if m := indexRE.FindStringSubmatch(idx); m == nil || len(m[0]) != len(idx) || a.Type != model.List || a.Items == nil || a.Items.Type != model.Record || !nested {
			return nil
		}
		return attributeAt(a.Items.Attributes, rest)
	}
	if nested {
		if a.Type != model.Record {
			return nil
		}
		return attributeAt(a.Attributes, rest)
	}
	return a
}

type importPageData struct {
	Concepts []*model.Concept
	Concept  string
	Reason   string
	Errors   []formError
	Jobs     []importJobView
}

type importJobView struct {
	ID, Concept, File string
	Started           time.Time
	State             importState
	Total             int
}

func (s *pages) importableConcepts(r *site.Request) []*model.Concept {
	var out []*model.Concept
	for _, c := range s.Model.Concepts {
		if ok, _ := mayWrite(r, c); ok {
			out = append(out, c)
		}
	}
	return out
}

func (s *pages) importPage(w http.ResponseWriter, r *site.Request) error {
	return s.Render(w, r, "import.html", "import.title", s.importData(r))
}

func (s *pages) importData(r *site.Request) importPageData {
	d := importPageData{Concepts: s.importableConcepts(r), Concept: r.URL.Query().Get("concept")}
	for _, j := range s.imports.of(ownerOf(r.Principal())) {
		d.Jobs = append(d.Jobs, importJobView{ID: j.ID, Concept: j.Concept, File: j.File, Started: j.Started, State: j.snapshot(), Total: j.Total})
	}
	return d
}

func (s *pages) startImport(w http.ResponseWriter, r *site.Request) error {
	d := s.importData(r)
	d.Concept = r.FormValue("concept")
	d.Reason = strings.TrimSpace(r.FormValue("reason"))
	c := s.Model.Concept(d.Concept)
	if c == nil {
		d.Errors = append(d.Errors, formError{ID: "concept", Label: r.T("import.concept"), Message: r.T("import.error.concept")})
	} else if ok, need := mayWrite(r, c); !ok {
		return site.Refused(need)
	}
	if d.Reason == "" {
		d.Errors = append(d.Errors, formError{ID: "reason", Label: r.T("records.reason"), Message: r.T("records.reason.required")})
	}
	file, hdr, err := r.FormFile("file")
	var rows []importRow
	switch {
	case err != nil:
		d.Errors = append(d.Errors, formError{ID: "file", Label: r.T("import.file"), Message: r.T("import.error.nofile")})
	case hdr.Size > maxImportBytes:
		d.Errors = append(d.Errors, formError{ID: "file", Label: r.T("import.file"), Message: r.T("import.error.size", maxImportBytes>>20)})
	case c != nil:
		data, err := io.ReadAll(io.LimitReader(file, maxImportBytes+1))
		_ = file.Close()
		if err != nil {
			return fmt.Errorf("read upload: %w", err)
		}
		if rows, err = parseImport(c, data); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				d.Errors = append(d.Errors, formError{ID: "file", Label: r.T("import.file"), Message: line})
			}
		}
	}
	if len(d.Errors) > 0 {
		return s.RenderStatus(w, r, http.StatusBadRequest, "import.html", "import.title", d)
	}
	id, err := session.RandomID()
	if err != nil {
		return err
	}
	j := &importJob{ID: id[:22], Owner: ownerOf(r.Principal()), Concept: c.ID, File: hdr.Filename, Reason: d.Reason,
		Total: len(rows), Started: s.Now(), done: make(chan struct{})}
	s.imports.add(j)
	s.Logger.InfoContext(r.Context(), "import started", "job", j.ID, "concept", c.ID, "rows", len(rows), "subject", r.Principal().Subject)
	s.Go(func(ctx context.Context) { s.runImport(ctx, j, c, r.Token(), rows) })
	return site.Redirect(w, r, "/import/"+j.ID)
}

// runImport creates the rows one by one under the server's context. A
// refusal (the token lost its grant, or expired) stops the import: every
// further row would be refused too.
func (s *pages) runImport(ctx context.Context, j *importJob, c *model.Concept, token string, rows []importRow) {
	defer close(j.done)
	finish := func(failure string) {
		j.mu.Lock()
		j.state.Finished = true
		j.state.Failure = failure
		j.state.FinishedAt = s.Now()
		j.mu.Unlock()
	}
	for _, row := range rows {
		if ctx.Err() != nil {
			finish("stopped")
			return
		}
		j.mu.Lock()
		cancelled := j.cancelled
		j.mu.Unlock()
		if cancelled {
			finish("cancelled")
			return
		}
		state, errs := valuesToState(c.Attributes, "", row.Values)
		if len(errs) > 0 {
			errs = mergeErrors(errs, modelErrors(c.Validate(state)))
		} else {
			_, err := s.API.Masterdata(token).Create(ctx, c.ID, state, j.Reason)
			ae := api.AsError(err)
			switch {
			case err == nil:
			case api.IsRefused(err):
				j.mu.Lock()
				j.state.Processed++
				j.state.RejectedRows++
				j.rejected = append(j.rejected, rejected{Row: row.Row, Rule: string(ae.Code), Message: ae.Message})
				j.mu.Unlock()
				finish("refused")
				return
			case ae != nil && len(ae.Fields) > 0:
				errs = ae.Fields
			case ae != nil:
				errs = []apierr.FieldError{{Rule: string(ae.Code), Message: ae.Message}}
			default:
				errs = []apierr.FieldError{{Rule: string(apierr.CodeUnavailable), Message: err.Error()}}
			}
		}
		j.mu.Lock()
		j.state.Processed++
		if len(errs) == 0 {
			j.state.Created++
		} else {
			j.state.RejectedRows++
			for _, e := range errs {
				j.rejected = append(j.rejected, rejected{Row: row.Row, Field: e.Field, Rule: e.Rule, Message: e.Message})
			}
		}
		j.mu.Unlock()
	}
	finish("")
	s.Logger.Info("import finished", "job", j.ID, "concept", c.ID, "rows", len(rows))
}

// job returns the import in the path if the signed-in person started it.
func (s *pages) job(r *site.Request) (*importJob, error) {
	j := s.imports.get(r.PathValue("job"))
	if j == nil || j.Owner != ownerOf(r.Principal()) {
		return nil, site.NotFound("import.unknown")
	}
	return j, nil
}

type importJobData struct {
	ID, Concept, File string
	Started           time.Time
	Total             int
	State             importState
	Percent           int
	Rejected          []rejected
	Failure           string
}

func (s *pages) jobData(r *site.Request, j *importJob) importJobData {
	st := j.snapshot()
	d := importJobData{ID: j.ID, Concept: j.Concept, File: j.File, Started: j.Started, Total: j.Total, State: st}
	if j.Total > 0 {
		d.Percent = st.Processed * 100 / j.Total
	}
	if st.Finished {
		// The page words each problem in the reader's language by its rule;
		// the downloaded CSV keeps the API's rule and words.
		var attrs []*model.Attribute
		if c := s.Model.Concept(j.Concept); c != nil {
			attrs = c.Attributes
		}
		d.Rejected = j.rejectedRows()
		for i, rj := range d.Rejected {
			d.Rejected[i].Message = fieldMessage(r, attrs, apierr.FieldError{Field: rj.Field, Rule: rj.Rule, Message: rj.Message})
		}
		switch st.Failure {
		case "refused":
			d.Failure = r.T("import.failure.refused")
		case "stopped":
			d.Failure = r.T("import.failure.stopped")
		case "cancelled":
			d.Failure = r.T("import.failure.cancelled")
		}
	}
	return d
}

func (s *pages) importJobPage(w http.ResponseWriter, r *site.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	return s.Render(w, r, "import_job.html", "import.job.title", s.jobData(r, j), j.File)
}

// importProgress is the progress part of the job page alone, for the
// page's script to poll.
func (s *pages) importProgress(w http.ResponseWriter, r *site.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	t, _ := s.Template("import_job.html")
	v := &site.View{Lang: r.Lang, CSRF: r.Session.CSRF, Data: s.jobData(r, j)}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "progress", v); err != nil {
		return fmt.Errorf("render progress: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}

func (s *pages) importRejectedCSV(w http.ResponseWriter, r *site.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"row", "field", "rule", "message"})
	for _, rj := range j.rejectedRows() {
		_ = cw.Write([]string{strconv.Itoa(rj.Row), rj.Field, rj.Rule, csvSafe(rj.Message)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write rejected rows: %w", err)
	}
	name := strings.TrimSuffix(j.File, ".csv")
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvFileName(name)+`-rejected.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvFileName(s string) string {
	s = idUnsafe.ReplaceAllString(s, "_")
	if s == "" {
		return "import"
	}
	return s
}

// cancelImport asks an import to stop before its next row.
func (s *pages) cancelImport(w http.ResponseWriter, r *site.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.cancelled = true
	j.mu.Unlock()
	s.Logger.InfoContext(r.Context(), "import cancelled", "job", j.ID, "subject", r.Principal().Subject)
	return site.Redirect(w, r, "/import/"+j.ID)
}
