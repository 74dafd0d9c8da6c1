package bulkimport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/sdk/apierr"
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
	var url string
	var body any
	if c.Master == hubSystem {
		url = fmt.Sprintf("%s/api/v1/%s", strings.TrimRight(s.BaseURL, "/"), concept)
		body = fields
	} else {
		item := map[string]any{"op": "upsert", "state": fields, "reason": s.Reason}
		for _, k := range c.NaturalKeys() {
			if v, ok := fields[k.Name].(string); ok && v != "" {
				item["naturalKey"] = map[string]string{"attribute": k.Name, "value": v}
				break
			}
		}
		url = fmt.Sprintf("%s/api/v1/publish/%s", strings.TrimRight(s.BaseURL, "/"), concept)
		body = map[string]any{"items": []any{item}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode record: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Samnav-Reason", s.Reason)
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("post %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read answer of %s: %w", url, err)
	}
	if resp.StatusCode/100 == 2 {
		var out struct {
			ID      string `json:"id"`
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
		}
		_ = json.Unmarshal(rb, &out)
		if len(out.Results) > 0 {
			return out.Results[0].ID, nil
		}
		return out.ID, nil
	}
	ae := apierr.Parse(resp.StatusCode, resp.Header, rb)
	switch ae.Code {
	case apierr.CodeInvalid, apierr.CodeConflict:
		problems := make([]model.FieldError, len(ae.Fields))
		for i, f := range ae.Fields {
			// The publish API names fields inside its batch envelope.
			problems[i] = model.FieldError{Field: strings.TrimPrefix(f.Field, "items[0].state."), Rule: f.Rule, Message: f.Message}
		}
		if len(problems) == 0 {
			problems = []model.FieldError{{Rule: string(ae.Code), Message: ae.Message}}
		}
		return "", &Rejection{Problems: problems}
	case apierr.CodeUnauthorized, apierr.CodeForbidden:
		return "", fmt.Errorf("%w: %s (%d): %s", errNotAllowed, url, resp.StatusCode, ae.Message)
	default:
		return "", fmt.Errorf("post %s: %s: %w", url, resp.Status, ae)
	}
}

// errNotAllowed is an authorisation failure: retrying does not help.
var errNotAllowed = errors.New("the token may not write this concept")

// Permanent reports whether err will not go away by retrying.
func Permanent(err error) bool { return errors.Is(err, errNotAllowed) }
