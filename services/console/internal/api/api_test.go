package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/samnav/samnav/pkg/auth"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

// TestErrorBodiesOfEveryService: whatever shape a service answers an error
// in (problem+json, the older {"error":...}, the registry's Confluent
// body, plain text, nothing), the handlers see its code, message, field
// problems, whether it refused the caller, and a refused write's current
// record.
func TestErrorBodiesOfEveryService(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		code, msg  string
		fields     int
		current    bool
		refused    bool
		notFound   bool
	}{
		{"masterdata invalid", `{"type":"urn:samnav:problem:invalid","title":"Invalid request","status":400,"detail":"unitType: bad","code":"invalid","fields":[{"field":"unitType","rule":"enum","message":"bad"}]}`, 400, "invalid", "unitType: bad", 1, false, false, false},
		{"masterdata stale", `{"type":"urn:samnav:problem:conflict","title":"Conflict","status":412,"detail":"stale","code":"conflict","current":{"id":"x","revision":2,"state":{"name":"A"}}}`, 412, "conflict", "stale", 0, true, false, false},
		{"masterdata forbidden", `{"type":"urn:samnav:problem:forbidden","title":"Forbidden","status":403,"detail":"may not write unit","code":"forbidden"}`, 403, "forbidden", "may not write unit", 0, false, true, false},
		{"delivery invalid", `{"type":"urn:samnav:problem:invalid","title":"Invalid request","status":400,"detail":"invalid subscription request","code":"invalid","fields":[{"field":"purpose","rule":"required","message":"is required"},{"field":"channel","rule":"enum","message":"must be one of"}]}`, 400, "invalid", "invalid subscription request", 2, false, false, false},
		{"legacy shape", `{"error":{"code":"conflict","message":"stale","current":{"id":"x","revision":2,"state":{"name":"A"}}}}`, 409, "conflict", "stale", 0, true, false, false},
		{"registry", `{"error_code":40401,"message":"Subject not found"}`, 404, "not_found", "Subject not found", 0, false, false, true},
		{"plain text", "upstream down", 502, "unavailable", "upstream down", 0, false, false, false},
		{"empty", "", 401, "unauthorized", "Unauthorized", 0, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &Client{MasterdataURL: srv.URL}
			_, err := c.Masterdata("tok").Update(context.Background(), "unit", "x", 1, map[string]any{}, "")
			e := AsError(err)
			if e == nil || string(e.Code) != tc.code || e.Message != tc.msg || len(e.Fields) != tc.fields || e.HTTPStatus() != tc.status {
				t.Fatalf("%+v", e)
			}
			if IsRefused(err) != tc.refused || IsNotFound(err) != tc.notFound {
				t.Fatalf("refused %v, not found %v", IsRefused(err), IsNotFound(err))
			}
			cur := masterdata.CurrentOf(err)
			if (cur != nil) != tc.current || (tc.current && (cur.ID != "x" || cur.Revision != 2)) {
				t.Fatalf("current %+v", cur)
			}
		})
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := (&Client{MasterdataURL: srv.URL}).Masterdata("tok").Get(context.Background(), "unit", "x")
	if err == nil || AsError(err) != nil || IsRefused(err) || IsNotFound(err) {
		t.Fatalf("an API that cannot be reached: %v, want an error that is no API answer", err)
	}
}

func TestVerifyAsksWhoami(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/whoami" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer snv_good_secret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"unknown token"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"subject":"anna","kind":"user","name":"Anna","credentialId":"t1","grants":[{"role":"steward","concepts":["unit"]}]}`))
	}))
	defer srv.Close()
	c := &Client{MasterdataURL: srv.URL}
	p, err := c.Verify(context.Background(), "snv_good_secret")
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "anna" || p.CredentialID != "t1" || !p.Can(auth.ActionWrite, "unit") || p.Can(auth.ActionWrite, "person") {
		t.Fatalf("principal %+v", p)
	}
	if _, err := c.Verify(context.Background(), "snv_bad_secret"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("bad token: %v, want ErrUnauthenticated", err)
	}
}
