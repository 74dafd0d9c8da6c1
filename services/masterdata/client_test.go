package masterdata_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
)

// TestClientAgainstTheServer runs the typed client against the real
// handlers: every operation, and errors read back as *apierr.Error.
func TestClientAgainstTheServer(t *testing.T) {
	a := startAPI(t)
	ctx := t.Context()
	steward := &client.Client{BaseURL: a.base, Token: a.steward("anna", "unit")}
	admin := &client.Client{BaseURL: a.base, Token: a.token("root", auth.Grant{Role: auth.RoleAdmin})}
	fb := &client.Client{BaseURL: a.base, Token: a.publisher("folkbokforing")}

	if w, err := steward.Whoami(ctx); err != nil || w.Subject != "anna" || len(w.Grants) != 1 || w.Grants[0].Role != "steward" {
		t.Fatalf("whoami: %+v %v", w, err)
	}
	rec, err := steward.Create(ctx, "unit", unit("Ekskolan"), "opened")
	if err != nil || rec.Revision != 1 || rec.State["name"] != "Ekskolan" {
		t.Fatalf("create: %+v %v", rec, err)
	}
	st := unit("Ekskolan F-9")
	st["capacity"] = 120
	if _, err := steward.Update(ctx, "unit", rec.ID, 1, st, "renamed"); err != nil {
		t.Fatalf("update: %v", err)
	}
	_, err = steward.Update(ctx, "unit", rec.ID, 1, st, "")
	if e, ok := errors.AsType[*apierr.Error](err); !ok || e.HTTPStatus() != http.StatusPreconditionFailed || e.Code != apierr.CodeConflict {
		t.Fatalf("stale update: %v, want 412 conflict", err)
	}
	if cur := client.CurrentOf(err); cur == nil || cur.Revision != 2 || cur.State["name"] != "Ekskolan F-9" {
		t.Fatalf("the current record of a stale update: %+v", cur)
	}
	if cur := client.CurrentOf(errors.New("not an API answer")); cur != nil {
		t.Fatalf("the current record of another error: %+v", cur)
	}
	if got, err := steward.Get(ctx, "unit", rec.ID); err != nil || got.Revision != 2 || got.State["capacity"] != json.Number("120") {
		t.Fatalf("get: %+v %v, want revision 2 and the capacity as a json.Number", got, err)
	}
	page, err := steward.List(ctx, "unit", client.ListOptions{Search: "f-9", Limit: 10})
	if err != nil || len(page.Records) != 1 || page.Records[0].ID != rec.ID {
		t.Fatalf("list: %+v %v", page, err)
	}
	if _, err := steward.End(ctx, "unit", rec.ID, 2, "closed"); err != nil {
		t.Fatalf("end: %v", err)
	}
	h, err := steward.History(ctx, "unit", rec.ID)
	if err != nil || len(h) != 3 || h[2].Kind != "ended" || h[1].Reason != "renamed" {
		t.Fatalf("history: %+v %v", h, err)
	}
	if _, err := admin.Erase(ctx, "unit", rec.ID, ""); apierr.CodeOf(err) != apierr.CodeInvalid {
		t.Fatalf("erase without a reason: %v, want invalid", err)
	}
	if got, err := admin.Erase(ctx, "unit", rec.ID, "erasure request"); err != nil || got.State != nil {
		t.Fatalf("erase: %+v %v", got, err)
	}

	res, err := fb.Publish(ctx, "person", []client.PublishItem{{Op: "upsert", State: person("198507099805", "Andersson")}})
	if err != nil || len(res) != 1 || res[0].Outcome != "created" {
		t.Fatalf("publish: %+v %v", res, err)
	}
	if got, err := admin.GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198507099805"); err != nil || got.ID != res[0].ID {
		t.Fatalf("by natural key: %+v %v", got, err)
	}
	_, err = fb.Publish(ctx, "person", []client.PublishItem{{Op: "upsert", State: map[string]any{"surname": "X"}}})
	if e, ok := errors.AsType[*apierr.Error](err); !ok || e.Code != apierr.CodeInvalid || len(e.Fields) == 0 {
		t.Fatalf("invalid publish: %v, want invalid naming the fields", err)
	}
	if _, err := steward.Get(ctx, "unit", "no-such-id"); apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("unknown id: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err = (&client.Client{BaseURL: down.URL}).GetByNaturalKey(ctx, "person", "personalIdentityNumber", "198507099805")
	if err == nil || strings.Contains(err.Error(), "198507099805") {
		t.Fatalf("a natural-key lookup that fails: %v, want an error without the value", err)
	}
}
