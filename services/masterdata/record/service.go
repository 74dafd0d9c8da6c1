package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/propagation"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/masterdata/client"
)

// HubSystem is the system id of the hub itself: concepts whose model
// master is HubSystem are kept by stewards through the hub's API; every
// other concept is written only by its master system.
const HubSystem = "samnav"

// ServiceOptions configures NewService.
type ServiceOptions struct {
	// Logger receives refused writes (warn) for audit; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Reads keeps a record of every read of personal data; nil means the
	// store, if it is a ReadLog. Without one, such reads are refused.
	Reads ReadLog
	// Subscriptions tells which subscriptions a subscriber system holds;
	// nil means subscriber systems read nothing.
	Subscriptions Subscriptions
}

type service struct {
	store  Store
	model  *model.Model
	logger *slog.Logger
	now    func() time.Time
	reads  ReadLog
	subs   Subscriptions
}

// NewService returns the Service over store for the concepts of m.
//
// Who may write: a concept whose master is HubSystem is written by
// principals with the write grant for it (its stewards, admins), attributed
// to system HubSystem; any other concept only by a publisher principal
// whose system is the concept's master, attributed to that system. Every
// other write is refused with apierr.CodeForbidden and logged at warn level.
// Reads need a grant for the concept (authorizeRead); what a reader is
// shown withholds the shielded attributes of protected identities unless
// its grant is approved for them, and every read of a concept holding
// personal data is recorded in the ReadLog before it is answered.
func NewService(store Store, m *model.Model, opts ServiceOptions) Service {
	s := &service{store: store, model: m, logger: opts.Logger, now: opts.Now, reads: opts.Reads, subs: opts.Subscriptions}
	if s.reads == nil {
		s.reads, _ = store.(ReadLog)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Eraser is implemented by the Service NewService returns: erasure is
// kept off the Service interface because only admins (the privacy
// officer's tooling) may erase.
type Eraser interface {
	// Erase removes a record's state and natural keys, and the states in
	// its history (who, when and why stay); its event is a tombstone.
	Erase(ctx context.Context, concept, id, reason string) (*client.Record, error)
}

func (s *service) concept(id string) (*model.Concept, error) {
	c := s.model.Concept(id)
	if c == nil {
		return nil, apierr.Errorf(apierr.CodeNotFound, "concept %q is not in the model", id)
	}
	return c, nil
}

func authError(err error) error {
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return &apierr.Error{Code: apierr.CodeUnauthorized, Message: err.Error(), Err: err}
	case errors.Is(err, auth.ErrForbidden):
		return &apierr.Error{Code: apierr.CodeForbidden, Message: err.Error(), Err: err}
	}
	return err
}

// authorizeWrite decides whether the principal in ctx may write concept c
// and returns the actor the change is attributed to.
func (s *service) authorizeWrite(ctx context.Context, c *model.Concept) (client.Actor, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return client.Actor{}, apierr.Errorf(apierr.CodeUnauthorized, "writing %s needs an API token", c.ID)
	}
	actor := client.Actor{Subject: p.Subject, CredentialID: p.CredentialID}
	if c.Master == HubSystem {
		if err := auth.Require(p, auth.ActionWrite, c.ID); err != nil {
			s.logger.WarnContext(ctx, "write refused", "principal", p.String(), "concept", c.ID, "reason", "no write grant")
			return client.Actor{}, authError(err)
		}
		actor.System = HubSystem
		return actor, nil
	}
	if sys := p.System(); sys != "" && sys == c.Master && p.Can(auth.ActionPublish, c.ID) {
		actor.System = sys
		return actor, nil
	}
	s.logger.WarnContext(ctx, "write refused: not the concept's master", "principal", p.String(), "system", p.System(), "concept", c.ID, "master", c.Master)
	return client.Actor{}, &apierr.Error{Code: apierr.CodeForbidden, Err: auth.ErrForbidden,
		Message: fmt.Sprintf("the master of %s is system %q: only it may write %s records; file corrections with %s", c.ID, c.Master, c.ID, c.Master)}
}

// authorizeErase decides whether the principal in ctx may erase records
// (admins only, of any concept) and returns the actor the erasure is
// attributed to: the hub itself.
func authorizeErase(ctx context.Context, _ *model.Concept) (client.Actor, error) {
	p := auth.FromContext(ctx)
	if err := auth.Require(p, auth.ActionAdmin, ""); err != nil {
		return client.Actor{}, authError(err)
	}
	return client.Actor{Subject: p.Subject, CredentialID: p.CredentialID, System: HubSystem}, nil
}

// beginWrite is the prologue every write shares: it looks the concept up,
// authorizes the principal in ctx with authorize (which names the actor
// of the change), and checks the reason by the model's text rules,
// returning it in NFC. verb ("end", "erase") makes the reason required
// for that write; "" leaves it optional.
func (s *service) beginWrite(ctx context.Context, concept, reason, verb string, authorize func(context.Context, *model.Concept) (client.Actor, error)) (*model.Concept, client.Actor, string, error) {
	c, err := s.concept(concept)
	if err != nil {
		return nil, client.Actor{}, "", err
	}
	actor, err := authorize(ctx, c)
	if err != nil {
		return nil, client.Actor{}, "", err
	}
	if verb != "" && reason == "" {
		return nil, client.Actor{}, "", &apierr.Error{Code: apierr.CodeInvalid, Message: strings.TrimSuffix(verb, "e") + "ing a record needs a reason",
			Fields: []apierr.FieldError{{Field: "reason", Rule: "required", Message: "is required to " + verb + " a record"}}}
	}
	if reason, err = text("reason", reason); err != nil {
		return nil, client.Actor{}, "", err
	}
	return c, actor, reason, nil
}

// clean puts the text of state in NFC (the one place every write's
// values are normalised: the API, the publish API, imports and the
// console all write through the Service), validates it against c and
// returns it without "id" and null attributes, or an invalid
// *apierr.Error listing every problem.
func clean(c *model.Concept, id string, state map[string]any) (map[string]any, error) {
	if state == nil {
		return nil, &apierr.Error{Code: apierr.CodeInvalid, Message: "the record is empty", Fields: []apierr.FieldError{{Field: "", Rule: "required", Message: "a JSON object of attributes is required"}}}
	}
	var fields []apierr.FieldError
	if v, ok := state["id"]; ok && v != nil {
		if s, _ := v.(string); id == "" || s != id {
			fields = append(fields, apierr.FieldError{Field: "id", Rule: "immutable", Message: "is assigned by the hub and cannot be set or changed"})
		}
	}
	fields = append(fields, FieldErrors(c.Validate(c.Normalize(state)))...)
	if len(fields) > 0 {
		return nil, &apierr.Error{Code: apierr.CodeInvalid, Message: fmt.Sprintf("the %s record breaks %d rule(s) of the model", c.ID, len(fields)), Fields: fields}
	}
	out := make(map[string]any, len(state))
	for k, v := range state {
		if k != "id" && v != nil {
			out[k] = v
		}
	}
	return out, nil
}

// text checks a text a caller gives beside a record (a write's reason, a
// lookup's value, a search) by the model's text rules, naming field, and
// returns it in NFC, the form stored values are in. Refusing it here
// keeps SQLite and PostgreSQL alike: PostgreSQL refuses a NUL that
// SQLite would store or compare.
func text(field, s string) (string, error) {
	if rule, msg := model.CheckText(s); rule != "" {
		return "", apierr.InvalidField(field, rule, msg)
	}
	return model.NormalizeText(s), nil
}

func traceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get(envelope.HeaderTraceParent)
}

func newEventID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *service) Create(ctx context.Context, concept string, state map[string]any, reason string) (*client.Record, error) {
	c, actor, reason, err := s.beginWrite(ctx, concept, reason, "", s.authorizeWrite)
	if err != nil {
		return nil, err
	}
	st, err := clean(c, "", state)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new id: %w", err)
	}
	rec := &client.Record{Concept: c.ID, ID: id.String(), Revision: 1, State: st, CreatedAt: now, UpdatedAt: now}
	ch := &client.Change{Kind: client.KindCreated, At: now, Actor: actor, Reason: reason, EventID: newEventID(), TraceParent: traceParent(ctx)}
	if err := s.store.Create(ctx, rec, ch); err != nil {
		return nil, fmt.Errorf("create %s: %w", c.ID, err)
	}
	return rec, nil
}

// staleError refuses a write naming revision want of cur: a conflict
// wrapping ErrStaleRevision, with the record as it is now in its
// "current" extension. The revision a write names is its HTTP If-Match,
// so the error is answered with 412 Precondition Failed.
func staleError(cur *client.Record, want int64) error {
	return apierr.Errorf(apierr.CodeConflict, "revision %d is stale: %s %s is at revision %d", want, cur.Concept, cur.ID, cur.Revision).
		Wrap(ErrStaleRevision).WithExtension("current", cur).WithStatus(http.StatusPreconditionFailed)
}

// FieldErrors are the model's field problems in the API's shape.
func FieldErrors(fes []model.FieldError) []apierr.FieldError {
	out := make([]apierr.FieldError, len(fes))
	for i, fe := range fes {
		out[i] = apierr.FieldError(fe)
	}
	return out
}

func (s *service) Update(ctx context.Context, concept, id string, ifRevision int64, state map[string]any, reason string) (*client.Record, error) {
	c, actor, reason, err := s.beginWrite(ctx, concept, reason, "", s.authorizeWrite)
	if err != nil {
		return nil, err
	}
	st, err := clean(c, id, state)
	if err != nil {
		return nil, err
	}
	w := write{c: c, id: id, ifRevision: ifRevision, verb: "update", kind: client.KindUpdated, actor: actor, reason: reason}
	return s.change(ctx, w, refuseErased(c, id, "was erased"), func(r *client.Record, now time.Time) {
		r.State, r.UpdatedAt = st, now
	})
}

func (s *service) End(ctx context.Context, concept, id string, ifRevision int64, reason string) (*client.Record, error) {
	c, actor, reason, err := s.beginWrite(ctx, concept, reason, "end", s.authorizeWrite)
	if err != nil {
		return nil, err
	}
	w := write{c: c, id: id, ifRevision: ifRevision, verb: "end", kind: client.KindEnded, actor: actor, reason: reason}
	return s.change(ctx, w, func(r *client.Record) error {
		if r.EndedAt != nil {
			return apierr.Errorf(apierr.CodeConflict, "%s %s was ended at %s", c.ID, id, r.EndedAt.Format(time.RFC3339)).
				Wrap(ErrConflict).WithExtension("current", r)
		}
		return nil
	}, func(r *client.Record, now time.Time) {
		r.EndedAt, r.EndReason, r.UpdatedAt = &now, reason, now
	})
}

func (s *service) Erase(ctx context.Context, concept, id, reason string) (*client.Record, error) {
	c, actor, reason, err := s.beginWrite(ctx, concept, reason, "erase", authorizeErase)
	if err != nil {
		return nil, err
	}
	w := write{c: c, id: id, verb: "erase", kind: client.KindErased, actor: actor, reason: reason}
	return s.change(ctx, w, refuseErased(c, id, "was erased already"), func(r *client.Record, now time.Time) {
		r.State, r.UpdatedAt = nil, now
		if r.EndedAt == nil {
			r.EndedAt, r.EndReason = &now, reason
		}
	})
}

// refuseErased is the check of a write that needs the record's state:
// an erased record is not found, the message saying so as what does.
func refuseErased(c *model.Concept, id, what string) func(*client.Record) error {
	return func(r *client.Record) error {
		if r.State == nil {
			return apierr.Errorf(apierr.CodeNotFound, "%s %s %s", c.ID, id, what)
		}
		return nil
	}
}

// write is one change of an existing record: of which, named how, by whom
// and why. ifRevision 0 skips the revision check.
type write struct {
	c          *model.Concept
	id         string
	ifRevision int64
	verb       string // "update", "end", "erase": names the write in errors
	kind       client.Kind
	actor      client.Actor
	reason     string
}

// change applies w to its record in one store transaction: it refuses a
// stale ifRevision, then whatever check refuses, then lets apply change
// the record at the write's time and records the change.
func (s *service) change(ctx context.Context, w write, check func(*client.Record) error, apply func(*client.Record, time.Time)) (*client.Record, error) {
	tp := traceParent(ctx)
	rec, err := s.store.Update(ctx, w.c.ID, w.id, func(r *client.Record, ch *client.Change) (*client.Record, error) {
		if w.ifRevision != 0 && r.Revision != w.ifRevision {
			return nil, staleError(r, w.ifRevision)
		}
		if err := check(r); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		apply(r, now)
		*ch = client.Change{Kind: w.kind, At: now, Actor: w.actor, Reason: w.reason, EventID: newEventID(), TraceParent: tp}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", w.verb, w.c.ID, w.id, err)
	}
	return rec, nil
}

func (s *service) Get(ctx context.Context, concept, id string) (*client.Record, error) {
	r, err := s.authorizeRead(ctx, concept)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.Get(ctx, concept, id)
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", concept, id, err)
	}
	return s.showOne(ctx, r, client.PathGet, rec)
}

func (s *service) showOne(ctx context.Context, r *reader, path client.ReadPath, rec *client.Record) (*client.Record, error) {
	recs := []*client.Record{rec}
	if err := s.showRecords(ctx, r, path, recs); err != nil {
		return nil, err
	}
	return recs[0], nil
}

func (s *service) GetByNaturalKey(ctx context.Context, concept, attribute, value string) (*client.Record, error) {
	r, err := s.authorizeRead(ctx, concept)
	if err != nil {
		return nil, err
	}
	if !r.mayUse(attribute) {
		return nil, notApproved(attribute)
	}
	rec, err := s.lookup(ctx, r.concept, attribute, value)
	if err != nil {
		return nil, err
	}
	return s.showOne(ctx, r, client.PathLookup, rec)
}

func (s *service) lookup(ctx context.Context, c *model.Concept, attribute, value string) (*client.Record, error) {
	if a := c.Attribute(attribute); a == nil || !a.NaturalKey {
		return nil, &apierr.Error{Code: apierr.CodeInvalid, Message: fmt.Sprintf("%s is not a natural key of %s", attribute, c.ID),
			Fields: []apierr.FieldError{{Field: attribute, Rule: "natural-key", Message: "is not a natural key of the concept"}}}
	}
	value, err := text(attribute, value)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.GetByNaturalKey(ctx, c.ID, attribute, value)
	if err != nil {
		return nil, fmt.Errorf("get %s by %s: %w", c.ID, attribute, err)
	}
	return rec, nil
}

// Resolve implements Service.
func (s *service) Resolve(ctx context.Context, concept, id, attribute, value string) (string, error) {
	c, err := s.concept(concept)
	if err != nil {
		return "", err
	}
	if _, err := s.authorizeWrite(ctx, c); err != nil {
		return "", err
	}
	if id != "" {
		rec, err := s.store.Get(ctx, concept, id)
		if err != nil {
			return "", fmt.Errorf("get %s %s: %w", concept, id, err)
		}
		return rec.ID, nil
	}
	rec, err := s.lookup(ctx, c, attribute, value)
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// MaxPageSize bounds List's Limit.
const MaxPageSize = 1000

func (s *service) List(ctx context.Context, concept string, q ListQuery) (*Page, error) {
	r, err := s.authorizeRead(ctx, concept)
	if err != nil {
		return nil, err
	}
	c := r.concept
	var fields []apierr.FieldError
	filter := make(map[string]string, len(q.Filter))
	for k, v := range q.Filter {
		a := c.Attribute(k)
		if rule, msg := model.CheckText(v); rule != "" {
			fields = append(fields, apierr.FieldError{Field: k, Rule: rule, Message: msg})
		}
		filter[k] = model.NormalizeText(v)
		switch {
		case a == nil:
			fields = append(fields, apierr.FieldError{Field: k, Rule: "unknown", Message: "is not an attribute of the model"})
		case a.Type == model.Record || a.Type == model.List:
			fields = append(fields, apierr.FieldError{Field: k, Rule: "filter", Message: "records and lists cannot be filtered by equality"})
		case !r.mayUse(k):
			return nil, notApproved(k)
		}
	}
	q.Filter = filter
	if rule, msg := model.CheckText(q.Search); rule != "" {
		fields = append(fields, apierr.FieldError{Field: "q", Rule: rule, Message: msg})
	}
	q.Search = model.NormalizeText(q.Search)
	if q.Limit == 0 {
		q.Limit = 100
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		fields = append(fields, apierr.FieldError{Field: "limit", Rule: "range", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)})
	}
	if len(fields) > 0 {
		return nil, &apierr.Error{Code: apierr.CodeInvalid, Message: "the query is invalid", Fields: fields}
	}
	if q.Search != "" && q.SearchFields == nil {
		q.SearchFields = TextAttributes(c)
	}
	if q.Search != "" {
		q.SearchFields = slices.DeleteFunc(slices.Clone(q.SearchFields), func(a string) bool { return !r.mayUse(a) })
		if len(q.SearchFields) == 0 {
			return nil, &apierr.Error{Code: apierr.CodeForbidden, Message: "the reader may search none of the concept's text attributes",
				Fields: []apierr.FieldError{{Field: "q", Rule: "not-approved", Message: "searches only attributes the subscription is approved for"}}}
		}
	}
	page, err := s.store.List(ctx, concept, q)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", concept, err)
	}
	path := client.PathList
	if q.Search != "" || len(q.Filter) > 0 {
		path = client.PathSearch
	}
	if err := s.showRecords(ctx, r, path, page.Records); err != nil {
		return nil, err
	}
	return page, nil
}

// TextAttributes are the top-level string attributes of c that search
// looks in: names, titles, addresses; not identity numbers, which are
// looked up exactly by natural key.
func TextAttributes(c *model.Concept) []string {
	var out []string
	for _, a := range c.Attributes {
		if a.Type == model.String && a.PersonalData != model.IdentityNumber {
			out = append(out, a.Name)
		}
	}
	return out
}

func (s *service) History(ctx context.Context, concept, id string) ([]client.Change, error) {
	r, err := s.authorizeRead(ctx, concept)
	if err != nil {
		return nil, err
	}
	if r.basis == client.BasisSubscription {
		// Changes name who made them and why: a subscription receives
		// records, not their keepers' work.
		return nil, &apierr.Error{Code: apierr.CodeForbidden, Err: auth.ErrForbidden,
			Message: fmt.Sprintf("a subscription reads the current records of %s, not their history", r.concept.ID)}
	}
	h, err := s.store.History(ctx, concept, id)
	if err != nil {
		return nil, fmt.Errorf("history of %s %s: %w", concept, id, err)
	}
	// One read of the record, naming every attribute any change showed.
	shown := map[string]bool{}
	for i := range h {
		var fields []string
		h[i].State, fields = r.show(h[i].State)
		for _, f := range fields {
			shown[f] = true
		}
	}
	var fields []string
	for _, a := range r.concept.Attributes {
		if shown[a.Name] {
			fields = append(fields, a.Name)
		}
	}
	if len(h) == 0 {
		return h, nil
	}
	return h, s.record(ctx, r, []client.Read{r.read(&client.Record{ID: id}, fields, client.PathHistory, s.now())})
}

// Batcher is implemented by the Service NewService returns: the publish
// API and importers use it to apply many writes in one transaction.
type Batcher interface {
	// Batch calls fn with a Service whose writes (and reads) run in one
	// transaction: they all commit, with their history rows and outbox
	// events in the order of the writes, if fn returns nil, and nothing
	// is kept if fn or the commit fails. Each write is authorised and
	// validated as through the Service itself. svc is valid only until fn
	// returns. It fails with apierr.CodeInternal, calling nothing, when the
	// store is not a Transactor.
	Batch(ctx context.Context, fn func(svc Service) error) error
}

var _ Batcher = (*service)(nil)

func (s *service) Batch(ctx context.Context, fn func(svc Service) error) error {
	tr, ok := s.store.(Transactor)
	if !ok {
		return apierr.Errorf(apierr.CodeInternal, "the store cannot run several writes in one transaction")
	}
	return tr.InTx(ctx, func(st Store) error {
		view := *s
		view.store = st
		return fn(&view)
	})
}
