package httpapi

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

// PublishItem, NaturalKey and PublishResult are the publish API's wire
// types; the typed client (package client) is their one home.
type (
	PublishItem   = client.PublishItem
	NaturalKey    = client.NaturalKey
	PublishResult = client.PublishResult
)

type publishRequest struct {
	Concept string
	Items   []PublishItem
}

// MaxPublishItems bounds one publish batch.
const MaxPublishItems = 1000

// Publisher applies batches from external master systems through the
// Service, which refuses any system that is not the concept's master.
type Publisher struct {
	svc    record.Service
	model  *model.Model
	logger *slog.Logger
}

// NewPublisher returns a Publisher over svc.
func NewPublisher(svc record.Service, m *model.Model, logger *slog.Logger) *Publisher {
	return &Publisher{svc: svc, model: m, logger: logger}
}

// Publish checks the whole batch first (the caller is the concept's
// master, every item is well-formed and valid against the model) and
// refuses it entirely, listing every problem by item, if anything is
// wrong. It then applies the items in order in ONE transaction, when the
// Service is a record.Batcher (the service's own is): the batch is all or
// nothing. If an item fails (a natural key held by another record, an
// unknown id, an ended record ended again), or the commit fails, no item of
// the batch is applied and no event is published; the error names the
// item. Items see the items before them: a batch may create a record and
// then update or end it by its natural key. The events of a batch are
// published in item order, after those of batches committed before it.
//
// With a Service that is not a Batcher the items are applied one by one,
// each in its own transaction; if one fails, the items before it stay
// applied and the ones after it are not attempted.
func (p *Publisher) Publish(ctx context.Context, req publishRequest) (client.PublishResults, error) {
	c := p.model.Concept(req.Concept)
	if c == nil {
		return client.PublishResults{}, apierr.Errorf(apierr.CodeNotFound, "concept %q is not in the model", req.Concept)
	}
	pr := auth.FromContext(ctx)
	if pr == nil {
		return client.PublishResults{}, apierr.Errorf(apierr.CodeUnauthorized, "publishing needs an API token")
	}
	if sys := pr.System(); sys == "" || sys != c.Master || !pr.Can(auth.ActionPublish, c.ID) {
		p.logger.WarnContext(ctx, "publish refused: not the concept's master", "principal", pr.String(), "system", sys, "concept", c.ID, "master", c.Master)
		return client.PublishResults{}, &apierr.Error{Code: apierr.CodeForbidden, Err: auth.ErrForbidden,
			Message: fmt.Sprintf("only system %q, the master of %s, may publish %s records", c.Master, c.ID, c.ID)}
	}
	var fields []apierr.FieldError
	add := func(i int, fe apierr.FieldError) {
		fe.Field = fmt.Sprintf("items[%d].%s", i, fe.Field)
		fields = append(fields, fe)
	}
	if len(req.Items) == 0 || len(req.Items) > MaxPublishItems {
		fields = append(fields, apierr.FieldError{Field: "items", Rule: "range", Message: fmt.Sprintf("must hold 1 to %d items", MaxPublishItems)})
	}
	for i, it := range req.Items {
		switch it.Op {
		case "upsert":
			for _, fe := range c.Validate(c.Normalize(it.State)) {
				add(i, apierr.FieldError{Field: "state." + fe.Field, Rule: fe.Rule, Message: fe.Message})
			}
			if it.State == nil {
				add(i, apierr.FieldError{Field: "state", Rule: "required", Message: "is required for upsert"})
			}
		case "end":
			if it.Reason == "" {
				add(i, apierr.FieldError{Field: "reason", Rule: "required", Message: "is required to end a record"})
			}
			if it.ID == "" && it.NaturalKey == nil {
				add(i, apierr.FieldError{Field: "id", Rule: "required", Message: "an id or a naturalKey must name the record to end"})
			}
		default:
			add(i, apierr.FieldError{Field: "op", Rule: "enum", Message: `must be "upsert" or "end"`})
		}
		if rule, msg := model.CheckText(it.Reason); rule != "" {
			add(i, apierr.FieldError{Field: "reason", Rule: rule, Message: msg})
		}
		if nk := it.NaturalKey; nk != nil {
			if a := c.Attribute(nk.Attribute); a == nil || !a.NaturalKey {
				add(i, apierr.FieldError{Field: "naturalKey.attribute", Rule: "natural-key", Message: fmt.Sprintf("%q is not a natural key of %s", nk.Attribute, c.ID)})
			}
		}
	}
	if len(fields) > 0 {
		return client.PublishResults{}, &apierr.Error{Code: apierr.CodeInvalid, Message: fmt.Sprintf("the batch has %d problem(s); nothing was applied", len(fields)), Fields: fields}
	}
	if b, ok := p.svc.(record.Batcher); ok {
		var out client.PublishResults
		err := b.Batch(ctx, func(svc record.Service) error {
			out = client.PublishResults{Results: make([]PublishResult, 0, len(req.Items))}
			for i, it := range req.Items {
				res, err := apply(ctx, svc, c, it)
				if err != nil {
					return fmt.Errorf("item %d (nothing of the batch was applied): %w", i, err)
				}
				res.Index = i
				out.Results = append(out.Results, res)
			}
			return nil
		})
		if err != nil {
			return client.PublishResults{}, err
		}
		return out, nil
	}
	var out client.PublishResults
	for i, it := range req.Items {
		res, err := apply(ctx, p.svc, c, it)
		if err != nil {
			return out, fmt.Errorf("item %d (items before it were applied): %w", i, err)
		}
		res.Index = i
		out.Results = append(out.Results, res)
	}
	return out, nil
}

func apply(ctx context.Context, svc record.Service, c *model.Concept, it PublishItem) (PublishResult, error) {
	id, err := resolve(ctx, svc, c, it)
	if err != nil {
		return PublishResult{}, err
	}
	switch {
	case it.Op == "end":
		if id == "" {
			return PublishResult{}, apierr.Errorf(apierr.CodeNotFound, "no %s record is named by the item", c.ID)
		}
		rec, err := svc.End(ctx, c.ID, id, 0, it.Reason)
		if err != nil {
			return PublishResult{}, err
		}
		return PublishResult{ID: rec.ID, Revision: rec.Revision, Outcome: "ended"}, nil
	case id == "":
		rec, err := svc.Create(ctx, c.ID, it.State, it.Reason)
		if err != nil {
			return PublishResult{}, err
		}
		return PublishResult{ID: rec.ID, Revision: rec.Revision, Outcome: "created"}, nil
	default:
		// The master is authoritative: its change replaces the state
		// whatever the current revision.
		rec, err := svc.Update(ctx, c.ID, id, 0, it.State, it.Reason)
		if err != nil {
			return PublishResult{}, err
		}
		return PublishResult{ID: rec.ID, Revision: rec.Revision, Outcome: "updated"}, nil
	}
}

// resolve returns the id of the record an item names, or "" when it names
// none that exists (and so is to be created).
func resolve(ctx context.Context, svc record.Service, c *model.Concept, it PublishItem) (string, error) {
	if it.ID != "" {
		return svc.Resolve(ctx, c.ID, it.ID, "", "")
	}
	nk := it.NaturalKey
	if nk == nil {
		for _, a := range c.NaturalKeys() {
			if v, ok := it.State[a.Name].(string); ok && v != "" {
				nk = &NaturalKey{Attribute: a.Name, Value: v}
				break
			}
		}
	}
	if nk == nil {
		return "", nil
	}
	id, err := svc.Resolve(ctx, c.ID, "", nk.Attribute, nk.Value)
	if apierr.CodeOf(err) == apierr.CodeNotFound {
		return "", nil
	}
	return id, err
}
