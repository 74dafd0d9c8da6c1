package records

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

// hubSystem is the master system id of the concepts the hub's stewards
// keep (masterdata's record.HubSystem); other concepts are written only by
// their master systems.
const hubSystem = "samnav"

// pageSize is how many records a list page shows.
const pageSize = 50

// The steward workspace: search and list records, a record with its
// history, create, edit and end.
var _ = site.Register(site.Area[*pages]{
	Name: "records", Order: 20, Visible: mayReadSome,
	New:    func(st *site.Site) *pages { return &pages{Site: st} },
	Before: (*pages).nameReferences,
	Pages: []site.Route[*pages]{
		{Path: "/records", Show: (*pages).recordsIndex},
		{Path: "/records/{concept}", Show: (*pages).recordList, Submit: (*pages).searchRecords},
		{Path: "/records/{concept}/new", Show: (*pages).newRecordForm, Submit: (*pages).createRecord},
		{Path: "/records/{concept}/{id}", Show: (*pages).recordPage},
		{Path: "/records/{concept}/{id}/edit", Show: (*pages).editRecordForm, Submit: (*pages).updateRecord},
		{Path: "/records/{concept}/{id}/end", Show: (*pages).endRecordForm, Submit: (*pages).endRecord},
	},
})

// mayReadSome reports whether p may read records of some concept: the
// records menu entry is shown only then.
func mayReadSome(p *auth.Principal) bool {
	return p.Can(auth.ActionRead, auth.AnyConcept) || len(readableConcepts(p)) > 0
}

// readableConcepts lists the concept ids p's grants name for reading
// (AnyConcept included as is).
func readableConcepts(p *auth.Principal) []string {
	var out []string
	for _, g := range p.Grants {
		if g.Role == auth.RoleSteward {
			out = append(out, g.Concepts...)
		}
	}
	return out
}

// concept returns the concept named in the path, or a not-found error.
func (s *pages) concept(r *site.Request) (*model.Concept, error) {
	c := s.Model.Concept(r.PathValue("concept"))
	if c == nil {
		return nil, site.NotFound("catalogue.unknown", r.PathValue("concept"))
	}
	return c, nil
}

// writableConcept returns the concept named in the path when the
// signed-in person may change its records here; otherwise a not-found or
// refused error saying what is needed.
func (s *pages) writableConcept(r *site.Request) (*model.Concept, error) {
	c, err := s.concept(r)
	if err != nil {
		return nil, err
	}
	if ok, need := mayWrite(r, c); !ok {
		return nil, site.Refused(need)
	}
	return c, nil
}

// mayWrite reports whether the signed-in person may change records of c
// through the console, and if not, what is needed.
func mayWrite(r *site.Request, c *model.Concept) (bool, string) {
	if c.Master != hubSystem {
		return false, r.T("records.need.master", c.Master)
	}
	if !r.Principal().Can(auth.ActionWrite, c.ID) {
		return false, r.T("records.need.write", c.ID)
	}
	return true, ""
}

// writeState reports whether the record pages offer changes of c, and if
// not, the note they show instead: for a concept mastered elsewhere, which
// system keeps it and that corrections go there; otherwise what is needed.
func writeState(r *site.Request, c *model.Concept) (bool, string) {
	if c.Master != hubSystem {
		return false, r.T("records.mastered", c.Master)
	}
	return mayWrite(r, c)
}

func needRead(r *site.Request, c *model.Concept) string { return r.T("records.need.read", c.ID) }

type recordsIndexData struct {
	Concepts []*model.Concept
}

func (s *pages) recordsIndex(w http.ResponseWriter, r *site.Request) error {
	var d recordsIndexData
	for _, c := range s.Model.Concepts {
		if r.Principal().CanRead(c.ID, c.Master) {
			d.Concepts = append(d.Concepts, c)
		}
	}
	return s.Render(w, r, "records_index.html", "records.title", d)
}

type listRow struct {
	ID     string
	Title  string
	Ended  bool
	Values []string
}

type listData struct {
	C            *model.Concept
	Columns      []*model.Attribute
	Rows         []listRow
	Q            string
	IncludeEnded bool
	Keys         []*model.Attribute
	Key, Value   string
	Notice       string
	// Next is the cursor of the next page ("" on the last); Paged says
	// this is not the first page. The paging buttons post the search
	// again with the cursor: no page of a search has it in its URL.
	Next      string
	Paged     bool
	Writable  bool
	WriteNote string
	// Filters are a select per top-level code attribute (enum or yes/no),
	// named "f.<attribute>".
	Filters []*formField
}

// listFilters builds the code filters of a list from the search form, and
// the API filter they make.
func listFilters(r *site.Request, c *model.Concept, qs url.Values) ([]*formField, map[string]string) {
	var fs []*formField
	filter := map[string]string{}
	for _, a := range c.Attributes {
		if a.Type != model.Enum && a.Type != model.Boolean {
			continue
		}
		name := "f." + a.Name
		f := &formField{Name: name, ID: fieldID(name), Label: r.Text(a.Label), Kind: "select", Value: qs.Get(name)}
		f.Options = []formOption{{Value: "", Label: r.T("records.filter.any")}}
		if a.Type == model.Boolean {
			f.Options = append(f.Options, formOption{Value: "true", Label: r.T("form.yes")}, formOption{Value: "false", Label: r.T("form.no")})
		}
		for _, code := range a.Codes {
			f.Options = append(f.Options, formOption{Value: code.Code, Label: r.Text(code.Label)})
		}
		for i := range f.Options {
			if f.Options[i].Value == f.Value {
				f.Options[i].Selected = true
				if f.Value != "" {
					filter[a.Name] = f.Value
				}
			}
		}
		fs = append(fs, f)
	}
	return fs, filter
}

// summaryColumns picks the attributes a list shows: natural keys first,
// then required plain attributes, at most five.
func summaryColumns(c *model.Concept) []*model.Attribute {
	cols := slices.Clone(c.NaturalKeys())
	for _, a := range c.Attributes {
		if len(cols) >= 5 {
			break
		}
		if a.NaturalKey || !a.Required || a.Type == model.Record || a.Type == model.List {
			continue
		}
		cols = append(cols, a)
	}
	return cols
}

func (s *pages) recordList(w http.ResponseWriter, r *site.Request) error {
	c, err := s.concept(r)
	if err != nil {
		return err
	}
	return s.list(w, r, c, nil, "", "")
}

// searchRecords answers the list page's forms, which post: the search
// (q, the code filters, ended, a page's cursor) and the natural-key
// lookup (key, value). A search may hold a name or a personnummer, so it
// never stands in a URL, the browser's history or an access log either;
// the results are rendered in the answer to the post.
func (s *pages) searchRecords(w http.ResponseWriter, r *site.Request) error {
	if _, lookup := r.PostForm["key"]; lookup {
		return s.lookupRecord(w, r)
	}
	c, err := s.concept(r)
	if err != nil {
		return err
	}
	return s.list(w, r, c, r.PostForm, "", "")
}

// lookupRecord answers the natural-key form, which posts: the key (a
// personnummer, say) never stands in a URL, the browser's history or an
// access log. A hit redirects to the record; a miss shows the list with a
// notice.
func (s *pages) lookupRecord(w http.ResponseWriter, r *site.Request) error {
	c, err := s.concept(r)
	if err != nil {
		return err
	}
	key, value := r.PostForm.Get("key"), strings.TrimSpace(r.PostForm.Get("value"))
	if a := c.Attribute(key); a == nil || !a.NaturalKey {
		return site.BadRequest("records.badkey", key)
	}
	if value == "" {
		return s.list(w, r, c, nil, key, "")
	}
	rec, err := s.API.Masterdata(r.Token()).GetByNaturalKey(r.Context(), c.ID, key, value)
	switch {
	case err == nil:
		return site.Redirect(w, r, "/records/"+c.ID+"/"+url.PathEscape(rec.ID))
	case api.IsNotFound(err):
		return s.list(w, r, c, nil, key, value)
	default:
		return site.RefusedBy(err, needRead(r, c))
	}
}

// list renders a page of c's records for the search form qs (nil: the
// first page of every current record); key and value are a natural-key
// lookup that found nothing ("" for none). The URL's query is never read.
func (s *pages) list(w http.ResponseWriter, r *site.Request, c *model.Concept, qs url.Values, key, value string) error {
	d := listData{C: c, Columns: summaryColumns(c), Q: strings.TrimSpace(qs.Get("q")), IncludeEnded: qs.Get("ended") == "on",
		Keys: c.NaturalKeys(), Key: key, Value: value}
	d.Writable, d.WriteNote = writeState(r, c)
	var filter map[string]string
	d.Filters, filter = listFilters(r, c, qs)
	if value != "" {
		d.Notice = r.T("records.nokey", r.Text(c.Attribute(key).Label), value)
	}

	page, err := s.API.Masterdata(r.Token()).List(r.Context(), c.ID, masterdata.ListOptions{Search: d.Q, Filter: filter, Limit: pageSize, Cursor: qs.Get("cursor"), IncludeEnded: d.IncludeEnded})
	if ae := api.AsError(err); ae != nil && ae.HTTPStatus() == http.StatusBadRequest {
		return site.BadRequest("records.badquery", ae.Message)
	}
	if err != nil {
		return site.RefusedBy(err, needRead(r, c))
	}
	for _, rec := range page.Records {
		row := listRow{ID: rec.ID, Title: recordTitle(c, &rec), Ended: rec.EndedAt != nil}
		for _, a := range d.Columns {
			row.Values = append(row.Values, showScalar(r, a, rec.State[a.Name]))
		}
		d.Rows = append(d.Rows, row)
	}
	d.Next, d.Paged = page.Next, qs.Get("cursor") != ""
	return s.Render(w, r, "records_list.html", "records.list.title", d, r.Text(c.Name))
}

// historyEntry is one change of a record with what it changed.
type historyEntry struct {
	Revision int64
	Kind     string
	At       time.Time
	Who      string
	System   string
	Token    string
	Reason   string
	Rows     []diffRow
}

type recordData struct {
	C         *model.Concept
	R         *masterdata.Record
	Shown     []shown
	History   []historyEntry
	Writable  bool
	WriteNote string
	Notice    string
	// ShowReads shows Reads, the record's read log (readLog).
	ShowReads bool
	Reads     []readEntry
}

// historyEntries turns changes (oldest first) into entries, newest first,
// each with its differences from the state before it.
func historyEntries(r *site.Request, c *model.Concept, changes []masterdata.Change) []historyEntry {
	out := make([]historyEntry, 0, len(changes))
	var before map[string]any
	for _, ch := range changes {
		e := historyEntry{Revision: ch.Revision, Kind: r.T("kind." + ch.Kind), At: ch.At, Who: ch.Actor.Subject,
			System: ch.Actor.System, Token: ch.Actor.CredentialID, Reason: ch.Reason}
		if ch.State != nil || before != nil {
			e.Rows = diffStates(r, c.Attributes, before, ch.State)
		}
		before = ch.State
		out = append(out, e)
	}
	slices.Reverse(out)
	return out
}

func (s *pages) recordPage(w http.ResponseWriter, r *site.Request) error {
	c, err := s.concept(r)
	if err != nil {
		return err
	}
	rec, err := s.API.Masterdata(r.Token()).Get(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return site.RefusedBy(err, needRead(r, c))
	}
	changes, err := s.API.Masterdata(r.Token()).History(r.Context(), c.ID, rec.ID)
	if err != nil {
		return site.RefusedBy(err, needRead(r, c))
	}
	d := recordData{C: c, R: rec, Shown: flattenShown(r, c.Attributes, "", "", rec.State), History: historyEntries(r, c, changes)}
	if d.Reads, d.ShowReads, err = s.readLog(r, c, rec.ID); err != nil {
		return site.RefusedBy(err, needRead(r, c))
	}
	d.Writable, d.WriteNote = writeState(r, c)
	if rec.EndedAt != nil {
		d.Writable = false
	}
	if done := r.URL.Query().Get("done"); done == "created" || done == "updated" || done == "ended" {
		d.Notice = r.T("records.done." + done)
	}
	return s.Render(w, r, "record.html", "records.record.title", d, r.Text(c.Name), recordTitle(c, rec))
}

// formData is what the create and edit pages show.
type formData struct {
	C      *model.Concept
	R      *masterdata.Record // nil when creating
	Action string
	Form   *formModel
	Reason string
	// ReasonError is shown next to the reason field.
	ReasonError string
	Revision    int64
	Conflict    *conflictData
	Submit      string
}

// conflictData explains an edit conflict: who changed the record since
// the steward opened it, and what.
type conflictData struct {
	From, To int64
	Changes  []historyEntry
	Rows     []diffRow
}

func (s *pages) newRecordForm(w http.ResponseWriter, r *site.Request) error {
	c, err := s.writableConcept(r)
	if err != nil {
		return err
	}
	d := formData{C: c, Action: "/records/" + c.ID + "/new", Form: buildForm(r, c.Attributes, defaultValues(c), nil, s.referenceOptions(r, c.Attributes)), Submit: r.T("records.create")}
	return s.Render(w, r, "record_form.html", "records.new.title", d, r.Text(c.Name))
}

// defaultValues are the model's defaults as form values.
func defaultValues(c *model.Concept) url.Values {
	state := map[string]any{}
	for _, a := range c.Attributes {
		if a.HasDefault && a.Type != model.List {
			state[a.Name] = a.Default
		}
	}
	return stateToValues(c.Attributes, state)
}

// readForm reads a submitted record form: the state, the reason, and the
// problems found before asking the API (unreadable values, a missing
// reason, and the model's own rules).
func readForm(r *site.Request, c *model.Concept) (map[string]any, string, []apierr.FieldError, string) {
	state, errs := valuesToState(c.Attributes, "", r.PostForm)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	reasonErr := ""
	if reason == "" {
		reasonErr = r.T("records.reason.required")
	}
	if len(errs) > 0 || reasonErr != "" {
		errs = mergeErrors(errs, modelErrors(c.Validate(state)))
	}
	return state, reason, errs, reasonErr
}

func (s *pages) createRecord(w http.ResponseWriter, r *site.Request) error {
	c, err := s.writableConcept(r)
	if err != nil {
		return err
	}
	state, reason, errs, reasonErr := readForm(r, c)
	d := formData{C: c, Action: "/records/" + c.ID + "/new", Reason: reason, ReasonError: reasonErr, Submit: r.T("records.create")}
	if len(errs) == 0 && reasonErr == "" {
		rec, err := s.API.Masterdata(r.Token()).Create(r.Context(), c.ID, state, reason)
		if err == nil {
			return site.Redirect(w, r, "/records/"+c.ID+"/"+url.PathEscape(rec.ID)+"?done=created")
		}
		ae := api.AsError(err)
		if ae == nil || (ae.HTTPStatus() != http.StatusBadRequest && ae.HTTPStatus() != http.StatusConflict) {
			return site.RefusedBy(err, r.T("records.need.write", c.ID))
		}
		errs = apiFormErrors(ae)
	}
	d.Form = buildForm(r, c.Attributes, r.PostForm, errs, s.referenceOptions(r, c.Attributes))
	if d.ReasonError != "" {
		d.Form.Errors = append(d.Form.Errors, formError{ID: "reason", Label: r.T("records.reason"), Message: d.ReasonError})
	}
	return s.RenderStatus(w, r, http.StatusBadRequest, "record_form.html", "records.new.title", d, r.Text(c.Name))
}

// apiFormErrors returns an invalid or conflicting write's field errors,
// or its message as a form-level error when it names no field.
func apiFormErrors(ae *apierr.Error) []apierr.FieldError {
	if len(ae.Fields) > 0 {
		return ae.Fields
	}
	return []apierr.FieldError{{Field: "", Rule: string(ae.Code), Message: ae.Message}}
}

// writableRecord is the concept and the record a form changes: refused
// when the person may not write the concept, and a bad request with
// endedKey's message when the record has ended.
func (s *pages) writableRecord(r *site.Request, endedKey string) (*model.Concept, *masterdata.Record, error) {
	c, err := s.writableConcept(r)
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.API.Masterdata(r.Token()).Get(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return nil, nil, site.RefusedBy(err, needRead(r, c))
	}
	if rec.EndedAt != nil {
		return nil, nil, site.BadRequest(endedKey)
	}
	return c, rec, nil
}

func (s *pages) editRecordForm(w http.ResponseWriter, r *site.Request) error {
	c, rec, err := s.writableRecord(r, "records.ended.noedit")
	if err != nil {
		return err
	}
	d := formData{C: c, R: rec, Action: "/records/" + c.ID + "/" + url.PathEscape(rec.ID) + "/edit", Revision: rec.Revision,
		Form: buildForm(r, c.Attributes, stateToValues(c.Attributes, rec.State), nil, s.referenceOptions(r, c.Attributes)), Submit: r.T("records.save")}
	return s.Render(w, r, "record_form.html", "records.edit.title", d, r.Text(c.Name), recordTitle(c, rec))
}

// changeTarget is what a posted edit or end changes: the concept (refused
// when the person may not write it), the record id and the revision the
// change was based on.
func (s *pages) changeTarget(r *site.Request) (*model.Concept, string, int64, error) {
	c, err := s.writableConcept(r)
	if err != nil {
		return nil, "", 0, err
	}
	rev, err := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if err != nil || rev < 1 {
		return nil, "", 0, site.BadRequest("records.badrevision")
	}
	return c, r.PathValue("id"), rev, nil
}

func (s *pages) updateRecord(w http.ResponseWriter, r *site.Request) error {
	c, id, rev, err := s.changeTarget(r)
	if err != nil {
		return err
	}
	state, reason, errs, reasonErr := readForm(r, c)
	d := formData{C: c, R: &masterdata.Record{ID: id, Revision: rev}, Action: "/records/" + c.ID + "/" + url.PathEscape(id) + "/edit",
		Revision: rev, Reason: reason, ReasonError: reasonErr, Submit: r.T("records.save")}
	status := http.StatusBadRequest
	titled := &masterdata.Record{ID: id}
	if len(errs) == 0 && reasonErr == "" {
		_, err := s.API.Masterdata(r.Token()).Update(r.Context(), c.ID, id, rev, state, reason)
		if err == nil {
			return site.Redirect(w, r, "/records/"+c.ID+"/"+url.PathEscape(id)+"?done=updated")
		}
		ae, current := api.AsError(err), masterdata.CurrentOf(err)
		switch {
		case ae != nil && ae.Code == apierr.CodeConflict && current != nil:
			if d.Conflict, err = s.conflict(r, c, id, rev, current); err != nil {
				return err
			}
			// Saving again re-applies the steward's values on top of the
			// current revision.
			d.Revision = current.Revision
			titled = current
			status = http.StatusConflict
		case ae != nil && (ae.Code == apierr.CodeInvalid || ae.Code == apierr.CodeConflict):
			errs = apiFormErrors(ae)
		default:
			return site.RefusedBy(err, r.T("records.need.write", c.ID))
		}
	}
	d.Form = buildForm(r, c.Attributes, r.PostForm, errs, s.referenceOptions(r, c.Attributes))
	if d.ReasonError != "" {
		d.Form.Errors = append(d.Form.Errors, formError{ID: "reason", Label: r.T("records.reason"), Message: d.ReasonError})
	}
	return s.RenderStatus(w, r, status, "record_form.html", "records.edit.title", d, r.Text(c.Name), recordTitle(c, titled))
}

// conflict explains what changed between revision from (which the
// steward edited) and current.
func (s *pages) conflict(r *site.Request, c *model.Concept, id string, from int64, current *masterdata.Record) (*conflictData, error) {
	changes, err := s.API.Masterdata(r.Token()).History(r.Context(), c.ID, id)
	if err != nil {
		return nil, site.RefusedBy(err, needRead(r, c))
	}
	cd := &conflictData{From: from, To: current.Revision}
	var base map[string]any
	var since []masterdata.Change
	for _, ch := range changes {
		if ch.Revision == from {
			base = ch.State
		}
		if ch.Revision > from {
			since = append(since, ch)
		}
	}
	cd.Rows = diffStates(r, c.Attributes, base, current.State)
	for _, e := range historyEntries(r, c, since) {
		e.Rows = nil
		cd.Changes = append(cd.Changes, e)
	}
	return cd, nil
}

type endData struct {
	C           *model.Concept
	R           *masterdata.Record
	Shown       []shown
	Reason      string
	ReasonError string
	Error       string
}

func (s *pages) endRecordForm(w http.ResponseWriter, r *site.Request) error {
	c, rec, err := s.writableRecord(r, "records.ended.already")
	if err != nil {
		return err
	}
	return s.Render(w, r, "record_end.html", "records.end.title", endData{C: c, R: rec, Shown: flattenShown(r, c.Attributes, "", "", rec.State)}, r.Text(c.Name), recordTitle(c, rec))
}

func (s *pages) endRecord(w http.ResponseWriter, r *site.Request) error {
	c, id, rev, err := s.changeTarget(r)
	if err != nil {
		return err
	}
	d := endData{C: c, Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	status := http.StatusBadRequest
	if d.Reason == "" {
		d.ReasonError = r.T("records.reason.required")
	} else {
		_, err := s.API.Masterdata(r.Token()).End(r.Context(), c.ID, id, rev, d.Reason)
		if err == nil {
			return site.Redirect(w, r, "/records/"+c.ID+"/"+url.PathEscape(id)+"?done=ended")
		}
		ae := api.AsError(err)
		switch {
		case ae != nil && ae.Code == apierr.CodeConflict: // ended already (409), or a stale If-Match (412)
			d.Error = r.T("records.end.conflict")
			status = http.StatusConflict
		case ae != nil && ae.Code == apierr.CodeInvalid:
			d.ReasonError = ae.Message
		default:
			return site.RefusedBy(err, r.T("records.need.write", c.ID))
		}
	}
	rec, err := s.API.Masterdata(r.Token()).Get(r.Context(), c.ID, id)
	if err != nil {
		return site.RefusedBy(err, needRead(r, c))
	}
	d.R = rec
	d.Shown = flattenShown(r, c.Attributes, "", "", rec.State)
	return s.RenderStatus(w, r, status, "record_end.html", "records.end.title", d, r.Text(c.Name), recordTitle(c, rec))
}
