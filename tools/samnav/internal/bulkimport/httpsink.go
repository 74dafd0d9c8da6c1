package bulkimport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
)

// HTTPSink stores records through the master data REST API, so an import
// runs against any hub the caller has a token for. Records of concepts the
// hub masters are created as a steward (POST /api/v1/{concept}); records of
// concepts an external system masters are published as that system
// (POST /api/v1/publish/{concept}, an upsert by natural key where the record
// has one, which makes a resumed import idempotent for them).
type HTTPSink struct {
	// BaseURL is the hub's API root, e.g. http://127.0.0.1:8080.
	BaseURL string
	Token   string
	Model   *model.Model
	// Reason is recorded in every record's history.
	Reason string
	Client *http.Client
}

// hubSystem is the master source id of the concepts the hub itself masters.
const hubSystem = "samnav"

// Put implements Sink.
func (s *HTTPSink) Put(ctx context.Context, concept string, fields map[string]any) (string, error) {
	c := s.Model.Concept(concept)
	if c == nil {
		return "", fmt.Errorf("concept %q is not in the model", concept)
	}
	hc := s.Client
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	md := &client.Client{BaseURL: s.BaseURL, Token: s.Token, HTTP: hc}
	var id string
	var err error
	if c.Master == hubSystem {
		var rec *client.Record
		if rec, err = md.Create(ctx, concept, fields, s.Reason); err == nil {
			id = rec.ID
		}
	} else {
		item := client.PublishItem{Op: "upsert", State: fields, Reason: s.Reason}
		for _, k := range c.NaturalKeys() {
			if v, ok := fields[k.Name].(string); ok && v != "" {
				item.NaturalKey = &client.NaturalKey{Attribute: k.Name, Value: v}
				break
			}
		}
		var res []client.PublishResult
		if res, err = md.Publish(ctx, concept, []client.PublishItem{item}); err == nil && len(res) > 0 {
			id = res[0].ID
		}
	}
	ae, isAnswer := errors.AsType[*apierr.Error](err)
	switch {
	case err == nil:
		return id, nil
	case !isAnswer:
		return "", fmt.Errorf("store %s record: %w", concept, err)
	case ae.Code == apierr.CodeInvalid, ae.Code == apierr.CodeConflict:
		problems := make([]model.FieldError, len(ae.Fields))
		for i, f := range ae.Fields {
			// The publish API names fields inside its batch envelope.
			problems[i] = model.FieldError{Field: strings.TrimPrefix(f.Field, "items[0].state."), Rule: f.Rule, Message: f.Message}
		}
		if len(problems) == 0 {
			problems = []model.FieldError{{Rule: string(ae.Code), Message: ae.Message}}
		}
		return "", &Rejection{Problems: problems}
	case ae.Code == apierr.CodeUnauthorized, ae.Code == apierr.CodeForbidden:
		return "", fmt.Errorf("%w: %s (%d): %s", errNotAllowed, concept, ae.HTTPStatus(), ae.Message)
	default:
		return "", fmt.Errorf("store %s record: %w", concept, ae)
	}
}

// errNotAllowed is an authorisation failure: retrying does not help.
var errNotAllowed = errors.New("the token may not write this concept")

// Permanent reports whether err will not go away by retrying.
func Permanent(err error) bool { return errors.Is(err, errNotAllowed) }
