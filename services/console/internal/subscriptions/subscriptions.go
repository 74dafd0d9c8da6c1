package subscriptions

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Stockholm on machines without a zone database

	"github.com/samnav/samnav/pkg/sdk/apierr"
	delivery "github.com/samnav/samnav/services/delivery/client"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/contracts/systems"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/services/console/internal/api"
	"github.com/samnav/samnav/services/console/internal/site"
)

// Subscriptions (issue 6, item 3): the list with filters and lag, a
// system's request form, the information owner's approve / narrow /
// reject, the history of decisions, and each webhook subscription's
// endpoint with its delivery log and redelivery. Every read and write
// goes through the delivery API with the signed-in person's token.
var _ = site.Register(site.Area[*pages]{
	Name: "subscriptions", Order: 30, New: newPages,
	Pages: []site.Route[*pages]{
		// The list, and the request form (GET /subscriptions/new) posts here.
		{Path: "/subscriptions", Show: (*pages).subscriptionsPage, Submit: (*pages).subscriptionRequest},
		{Path: "/subscriptions/new", Show: (*pages).subscriptionRequestPage},
		{Path: "/subscriptions/{id}", Show: (*pages).subscriptionPage},
		{Path: "/subscriptions/{id}/decide", Submit: (*pages).subscriptionDecide},
		{Path: "/subscriptions/{id}/webhook", Show: (*pages).subscriptionWebhookPage},
		{Path: "/subscriptions/{id}/webhook/messages/{msg}/redeliver", Submit: (*pages).subscriptionRedeliver},
		{Path: "/subscriptions/{id}/webhook/{action}", Submit: (*pages).subscriptionWebhookStatus},
	},
})

var _ = site.TemplateFuncs(template.FuncMap{
	"subAgo": subAgo,
})

// subAgo is how long before now t was, rounded to what a person reads.
func subAgo(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// subscriptionStatuses, subscriptionChannels and subscriptionBases are the
// delivery API's closed sets, in the order the forms offer them.
var (
	subscriptionStatuses = []string{"requested", "approved", "rejected", "revoked"}
	subscriptionChannels = []string{"kafka", "webhook", "feed"}
	subscriptionBases    = []string{"public_task", "legal_obligation", "contract", "consent", "vital_interests", "legitimate_interests"}
)

// subLagListMax bounds the lag look-ups of one list page (one API call
// each), subLagParallel how many run at once.
const (
	subLagListMax  = 50
	subLagParallel = 4
)

// subOption is one choice of a select.
type subOption struct {
	Value, Label string
	Selected     bool
}

// subFormError is one problem of a submitted form: the input it belongs to
// (for the error summary's link) and what is wrong.
type subFormError struct {
	Field, Message string
}

type subFormErrors []subFormError

// For returns the message of field's problem, or "".
func (es subFormErrors) For(field string) string {
	for _, e := range es {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

type subRow struct {
	delivery.Subscription
	SystemLabel    site.SystemName
	ConceptName    string
	StatusLabel    string
	ChannelLabel   string
	FieldsLabel    string
	LagLabel       string
	LagKnown       bool
	ApprovedLabels []string
}

type subListData struct {
	Rows       []subRow
	Statuses   []subOption
	Concepts   []subOption
	Systems    []subOption
	CanRequest bool
}

func subCanRequest(p *auth.Principal) bool {
	return p.Can(auth.ActionAdmin, "") || subPrincipalSystem(p) != ""
}

// subPrincipalSystem is the system a principal speaks for, "" for a person.
func subPrincipalSystem(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	if sys := p.System(); sys != "" {
		return sys
	}
	if p.Kind == auth.KindSystem {
		return p.Subject
	}
	return ""
}

func (s *pages) subscriptionsPage(w http.ResponseWriter, r *site.Request) error {
	q := r.URL.Query()
	status, concept, system := q.Get("status"), q.Get("concept"), q.Get("system")
	if status != "" && !slices.Contains(subscriptionStatuses, status) {
		return site.BadRequest("subscriptions.err.status")
	}
	subs, err := s.API.Delivery(r.Token()).All(r.Context(), delivery.Filter{Status: status, Concept: concept, System: system})
	if err != nil {
		return site.RefusedBy(err, r.T("subscriptions.need"))
	}
	d := subListData{CanRequest: subCanRequest(r.Principal())}
	d.Statuses = append(d.Statuses, subOption{Value: "", Label: r.T("subscriptions.filter.all"), Selected: status == ""})
	for _, st := range subscriptionStatuses {
		d.Statuses = append(d.Statuses, subOption{Value: st, Label: r.T("subscriptions.status." + st), Selected: st == status})
	}
	d.Concepts = append(d.Concepts, subOption{Value: "", Label: r.T("subscriptions.filter.all"), Selected: concept == ""})
	for _, c := range s.Model.Concepts {
		d.Concepts = append(d.Concepts, subOption{Value: c.ID, Label: r.Text(c.Name), Selected: c.ID == concept})
	}
	d.Systems = append(d.Systems, subOption{Value: "", Label: r.T("subscriptions.filter.all"), Selected: system == ""})
	if cat, err := systems.Load(); err == nil {
		for _, sys := range cat.Systems {
			d.Systems = append(d.Systems, subOption{Value: sys.ID, Label: sys.Name.In(string(r.Lang)), Selected: sys.ID == system})
		}
	}
	lagged := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, subLagParallel)
	for _, sub := range subs {
		d.Rows = append(d.Rows, s.subRowOf(r, sub))
	}
	for i := range d.Rows {
		row := &d.Rows[i]
		if row.Status != "approved" || lagged == subLagListMax {
			continue
		}
		lagged++
		// Each row is written by its own goroutine only.
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if l, err := s.API.Delivery(r.Token()).Lag(r.Context(), row.ID); err == nil {
				row.LagLabel, row.LagKnown = subLagLabel(r, l), true
			} else {
				row.LagLabel = r.T("subscriptions.lag.unknown")
			}
		})
	}
	wg.Wait()
	return s.Render(w, r, "subscriptions.html", "subscriptions.title", d)
}

func (s *pages) subRowOf(r *site.Request, sub delivery.Subscription) subRow {
	row := subRow{Subscription: sub, SystemLabel: s.SystemLabel(r, sub.System), ConceptName: s.ConceptName(r, sub.Concept),
		StatusLabel: r.T("subscriptions.status." + sub.Status), ChannelLabel: r.T("subscriptions.channel." + sub.Channel),
		ApprovedLabels: s.AttrLabels(r, sub.Concept, sub.ApprovedFields)}
	if sub.Status == "approved" || sub.Status == "revoked" {
		row.FieldsLabel = r.T("subscriptions.fieldsof", len(sub.ApprovedFields), len(sub.RequestedFields))
	}
	return row
}

func subLagLabel(r *site.Request, l *delivery.Lag) string {
	if l.Failing != "" {
		return r.T("subscriptions.lag.failing")
	}
	var events int64
	for _, c := range l.Channels {
		events += c.Events
	}
	if events == 0 {
		return r.T("subscriptions.lag.none")
	}
	if events == 1 {
		return r.T("subscriptions.lag.event")
	}
	return r.T("subscriptions.lag.events", events)
}

// subAttrChoice is one attribute of the request and decision forms.
type subAttrChoice struct {
	Name, Label, Definition string
	Class, ClassLong        string
	PersonalData            string
	Shielded, Checked       bool
}

func (s *pages) subAttrChoices(r *site.Request, c *model.Concept, only []string, checked func(string) bool) []subAttrChoice {
	var out []subAttrChoice
	for _, a := range c.Attributes {
		if only != nil && !slices.Contains(only, a.Name) {
			continue
		}
		cl := c.Classification
		if a.Classification != nil {
			cl = *a.Classification
		}
		pd := "none"
		if a.PersonalData != model.NotPersonal {
			pd = string(a.PersonalData)
		}
		out = append(out, subAttrChoice{Name: a.Name, Label: s.AttrLabel(r, c.ID, a.Name), Definition: r.Text(a.Definition),
			Class:        r.T("subscriptions.class", cl.Confidentiality, cl.Integrity, cl.Availability),
			ClassLong:    r.T("subscriptions.class.long", cl.Confidentiality, cl.Integrity, cl.Availability),
			PersonalData: r.T("subscriptions.pd." + pd), Shielded: a.Shielded, Checked: checked(a.Name)})
	}
	return out
}

func subHasShielded(c *model.Concept) bool {
	return slices.ContainsFunc(c.Attributes, func(a *model.Attribute) bool { return a.Shielded })
}

type subRequestForm struct {
	Concepts    []subOption
	Concept     string
	ConceptName string
	Attrs       []subAttrChoice
	HasShielded bool
	Admin       bool
	Systems     []subOption
	OwnSystem   site.SystemName
	Purpose     string
	Bases       []subOption
	Reference   string
	Channels    []subOption
	Protected   bool
	Reason      string
	Errors      subFormErrors
}

func (s *pages) subRequestFormOf(r *site.Request, in delivery.Request) subRequestForm {
	p := r.Principal()
	f := subRequestForm{Concept: in.Concept, Admin: p.Can(auth.ActionAdmin, ""), Purpose: in.Purpose, Reference: in.LegalBasis.Reference,
		Protected: in.ProtectedIdentities, Reason: in.Reason, OwnSystem: s.SystemLabel(r, subPrincipalSystem(p))}
	for _, c := range s.Model.Concepts {
		f.Concepts = append(f.Concepts, subOption{Value: c.ID, Label: r.Text(c.Name), Selected: c.ID == in.Concept})
	}
	if c := s.Model.Concept(in.Concept); c != nil {
		f.ConceptName, f.HasShielded = r.Text(c.Name), subHasShielded(c)
		f.Attrs = s.subAttrChoices(r, c, nil, func(n string) bool { return slices.Contains(in.Fields, n) })
	}
	f.Bases = append(f.Bases, subOption{Value: "", Label: r.T("subscriptions.request.basis.choose"), Selected: in.LegalBasis.Basis == ""})
	for _, b := range subscriptionBases {
		f.Bases = append(f.Bases, subOption{Value: b, Label: r.T("subscriptions.basis." + b), Selected: b == in.LegalBasis.Basis})
	}
	for _, ch := range subscriptionChannels {
		f.Channels = append(f.Channels, subOption{Value: ch, Label: r.T("subscriptions.channel." + ch), Selected: ch == in.Channel})
	}
	if f.Admin {
		f.Systems = append(f.Systems, subOption{Value: "", Label: r.T("subscriptions.err.system"), Selected: in.System == ""})
		if cat, err := systems.Load(); err == nil {
			for _, sys := range cat.Systems {
				if sys.ID == systems.Hub {
					continue
				}
				f.Systems = append(f.Systems, subOption{Value: sys.ID, Label: sys.Name.In(string(r.Lang)) + " (" + sys.ID + ")", Selected: sys.ID == in.System})
			}
		}
	}
	return f
}

func (s *pages) subscriptionRequestPage(w http.ResponseWriter, r *site.Request) error {
	if !subCanRequest(r.Principal()) {
		return site.Refused(r.T("subscriptions.need.request"))
	}
	concept := r.URL.Query().Get("concept")
	if concept != "" && s.Model.Concept(concept) == nil {
		return site.NotFound("error.notfound")
	}
	in := delivery.Request{Concept: concept, Channel: "kafka"}
	return s.Render(w, r, "subscriptions_new.html", "subscriptions.request.title", s.subRequestFormOf(r, in))
}

func (s *pages) subscriptionRequest(w http.ResponseWriter, r *site.Request) error {
	if !subCanRequest(r.Principal()) {
		return site.Refused(r.T("subscriptions.need.request"))
	}
	if err := r.ParseForm(); err != nil {
		return site.BadRequest("error.internal")
	}
	in := delivery.Request{Concept: r.PostForm.Get("concept"), Purpose: strings.TrimSpace(r.PostForm.Get("purpose")),
		LegalBasis: delivery.LegalBasis{Basis: r.PostForm.Get("basis"), Reference: strings.TrimSpace(r.PostForm.Get("reference"))},
		Channel:    r.PostForm.Get("channel"), Fields: r.PostForm["fields"], ProtectedIdentities: r.PostForm.Get("protected") == "on",
		Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
	if r.Principal().Can(auth.ActionAdmin, "") {
		in.System = r.PostForm.Get("system")
	}
	// The form checks what it can name in the person's language; the API
	// has the last word and its field problems are shown the same way.
	var errs subFormErrors
	c := s.Model.Concept(in.Concept)
	if c == nil {
		errs = append(errs, subFormError{"concept", r.T("subscriptions.err.concept")})
	}
	if r.Principal().Can(auth.ActionAdmin, "") && in.System == "" && subPrincipalSystem(r.Principal()) == "" {
		errs = append(errs, subFormError{"system", r.T("subscriptions.err.system")})
	}
	if c != nil {
		kept := in.Fields[:0]
		for _, f := range in.Fields {
			if c.Attribute(f) != nil {
				kept = append(kept, f)
			}
		}
		in.Fields = kept
		if len(in.Fields) == 0 {
			errs = append(errs, subFormError{"fields", r.T("subscriptions.err.fields")})
		}
	}
	if in.Purpose == "" {
		errs = append(errs, subFormError{"purpose", r.T("subscriptions.err.purpose")})
	}
	if !slices.Contains(subscriptionBases, in.LegalBasis.Basis) {
		errs = append(errs, subFormError{"basis", r.T("subscriptions.err.basis")})
	}
	if in.LegalBasis.Reference == "" {
		errs = append(errs, subFormError{"reference", r.T("subscriptions.err.reference")})
	}
	if !slices.Contains(subscriptionChannels, in.Channel) {
		errs = append(errs, subFormError{"channel", r.T("subscriptions.err.channel")})
	}
	if len(errs) == 0 {
		sub, err := s.API.Delivery(r.Token()).Request(r.Context(), in)
		if err == nil {
			return site.Redirect(w, r, "/subscriptions/"+url.PathEscape(sub.ID)+"?done=request")
		}
		ae := api.AsError(err)
		if ae == nil || ae.HTTPStatus() != http.StatusBadRequest {
			return site.RefusedBy(err, r.T("subscriptions.need.request"))
		}
		errs = subAPIFormErrors(r, ae)
	}
	f := s.subRequestFormOf(r, in)
	f.Errors = errs
	return s.RenderStatus(w, r, http.StatusBadRequest, "subscriptions_new.html", "subscriptions.request.title", f)
}

// subAPIFieldInput maps the delivery API's field names to the form's inputs.
var subAPIFieldInput = map[string]string{"legalBasis.basis": "basis", "legalBasis.reference": "reference"}

// subAPIInputMessage is, by form input, the console's own message for any
// problem the delivery API finds with it; "fields" only when none was
// given (its other problems name the field at fault).
var subAPIInputMessage = map[string]string{"system": "subscriptions.err.system", "concept": "subscriptions.err.concept",
	"purpose": "subscriptions.err.purpose", "basis": "subscriptions.err.basis", "reference": "subscriptions.err.reference",
	"channel": "subscriptions.err.channel", "reason": "subscriptions.err.reason"}

// subAPIFormErrors turns an API's 400 into form errors, each at its input:
// in the page's language where the console knows the input, else the
// API's field and text.
func subAPIFormErrors(r *site.Request, ae *apierr.Error) subFormErrors {
	var errs subFormErrors
	for _, fe := range ae.Fields {
		in := fe.Field
		if m, ok := subAPIFieldInput[in]; ok {
			in = m
		}
		key, ok := subAPIInputMessage[in]
		if in == "fields" && fe.Rule == "required" {
			key, ok = "subscriptions.err.fields", true
		}
		if ok {
			errs = append(errs, subFormError{in, r.T(key)})
			continue
		}
		errs = append(errs, subFormError{in, r.T("subscriptions.err.api", fe.Field, fe.Message)})
	}
	if len(errs) == 0 {
		errs = append(errs, subFormError{"", ae.Message})
	}
	return errs
}

type subHistoryRow struct {
	delivery.SubscriptionChange
	ActionLabel string
	Fields      []string
}

type subLagView struct {
	Lag   *delivery.Lag
	Error string
}

type subDetailData struct {
	Sub            subRow
	BasisLabel     string
	RequestedNames []string
	History        []subHistoryRow
	Lag            *subLagView
	CanDecide      bool
	Decide         []subAttrChoice
	DecideShielded bool
	Reason         string
	Errors         subFormErrors
	Notice         string
	IsWebhook      bool
	Now            time.Time
}

func (s *pages) subDetail(r *site.Request, id string) (*subDetailData, error) {
	sub, err := s.API.Delivery(r.Token()).Get(r.Context(), id)
	if err != nil {
		return nil, site.RefusedBy(err, r.T("subscriptions.need"))
	}
	hist, err := s.API.Delivery(r.Token()).History(r.Context(), id)
	if err != nil {
		return nil, site.RefusedBy(err, r.T("subscriptions.need"))
	}
	d := &subDetailData{Sub: s.subRowOf(r, *sub), BasisLabel: r.T("subscriptions.basis." + sub.LegalBasis.Basis),
		RequestedNames: s.AttrLabels(r, sub.Concept, sub.RequestedFields), IsWebhook: sub.Channel == "webhook", Now: s.Now()}
	for _, h := range slices.Backward(hist) {
		d.History = append(d.History, subHistoryRow{SubscriptionChange: h, ActionLabel: r.T("subscriptions.action." + h.Action),
			Fields: s.AttrLabels(r, sub.Concept, h.After.ApprovedFields)})
	}
	if sub.Status == "approved" {
		d.Lag = &subLagView{}
		if l, err := s.API.Delivery(r.Token()).Lag(r.Context(), id); err != nil {
			d.Lag.Error = err.Error()
			if ae := api.AsError(err); ae != nil {
				d.Lag.Error = ae.Message
			}
		} else {
			d.Lag.Lag = l
		}
	}
	c := s.Model.Concept(sub.Concept)
	d.CanDecide = c != nil && r.Principal().Can(auth.ActionApprove, sub.Concept) && (sub.Status == "requested" || sub.Status == "approved")
	if d.CanDecide {
		approved := sub.ApprovedFields
		if sub.Status == "requested" {
			approved = sub.RequestedFields
		}
		d.Decide = s.subAttrChoices(r, c, sub.RequestedFields, func(n string) bool { return slices.Contains(approved, n) })
		d.DecideShielded = sub.ProtectedIdentities
	}
	switch r.URL.Query().Get("done") {
	case "request":
		d.Notice = r.T("subscriptions.request.sent")
	case "approve", "reject", "revoke":
		d.Notice = r.T("subscriptions.decide.done." + r.URL.Query().Get("done"))
	}
	return d, nil
}

func (s *pages) subscriptionPage(w http.ResponseWriter, r *site.Request) error {
	d, err := s.subDetail(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.Render(w, r, "subscriptions_detail.html", "subscriptions.detail.title", d, d.Sub.SystemLabel.Name, d.Sub.ConceptName)
}

// The owner's decisions, as the decide form's action names them.
const (
	decisionApprove = "approve"
	decisionReject  = "reject"
	decisionRevoke  = "revoke"
)

// decide sends the owner's decision: approve (or narrow) to the ticked
// fields, or reject or revoke, each with the reason.
func decide(ctx context.Context, dl *delivery.Client, id, action string, dec delivery.Decision) error {
	var err error
	switch action {
	case decisionApprove:
		_, err = dl.Approve(ctx, id, dec)
	case decisionReject:
		_, err = dl.Reject(ctx, id, dec.Reason)
	case decisionRevoke:
		_, err = dl.Revoke(ctx, id, dec.Reason)
	default:
		err = fmt.Errorf("decide subscription: unknown action %q", action)
	}
	return err
}

func (s *pages) subscriptionDecide(w http.ResponseWriter, r *site.Request) error {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		return site.BadRequest("error.internal")
	}
	action := r.PostForm.Get("action")
	dec := delivery.Decision{Fields: r.PostForm["fields"], ProtectedIdentities: r.PostForm.Get("protected") == "on",
		Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
	var errs subFormErrors
	if !slices.Contains([]string{decisionApprove, decisionReject, decisionRevoke}, action) {
		errs = append(errs, subFormError{"action", r.T("subscriptions.err.action")})
	}
	if dec.Reason == "" {
		errs = append(errs, subFormError{"reason", r.T("subscriptions.err.reason")})
	}
	if action == decisionApprove && len(dec.Fields) == 0 {
		// No field ticked would mean "all requested" to the API: the
		// opposite of what unticking every box says.
		errs = append(errs, subFormError{"fields", r.T("subscriptions.err.fields")})
	}
	if len(errs) == 0 {
		err := decide(r.Context(), s.API.Delivery(r.Token()), id, action, dec)
		if err == nil {
			return site.Redirect(w, r, "/subscriptions/"+url.PathEscape(id)+"?done="+action)
		}
		ae := api.AsError(err)
		if ae == nil || (ae.HTTPStatus() != http.StatusBadRequest && ae.HTTPStatus() != http.StatusConflict) {
			return site.RefusedBy(err, r.T("subscriptions.need.decide"))
		}
		errs = subAPIFormErrors(r, ae)
	}
	d, err := s.subDetail(r, id)
	if err != nil {
		return err
	}
	d.Errors, d.Reason = errs, dec.Reason
	for i := range d.Decide {
		d.Decide[i].Checked = slices.Contains(dec.Fields, d.Decide[i].Name)
	}
	return s.RenderStatus(w, r, http.StatusBadRequest, "subscriptions_detail.html", "subscriptions.detail.title", d, d.Sub.SystemLabel.Name, d.Sub.ConceptName)
}
