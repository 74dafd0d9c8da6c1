package bulkimport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/tools/samnav/internal/bulkimport"
)

// oneSchema is a registry that gives every schema id 1: enough for a
// master data service without Kafka, whose events nobody decodes here.
type oneSchema struct{}

func (oneSchema) Register(context.Context, string, string) (uint32, error) { return 1, nil }
func (oneSchema) Lookup(context.Context, string, string) (uint32, error)   { return 1, nil }

// TestHTTPSinkAgainstMasterData stores records through a running master
// data service: a hub-mastered concept is created, an externally mastered
// one published (again by its natural key: the same record), an invalid
// record is a Rejection naming the field, a refused token is Permanent,
// and an unreachable hub is neither.
func TestHTTPSinkAgainstMasterData(t *testing.T) {
	ctx := t.Context()
	srv, err := masterdata.New(ctx, masterdata.Config{Base: daemon.Base{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "md")}}, masterdata.Deps{Registry: oneSchema{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	token := func(name string, kind auth.Kind, g auth.Grant) string {
		secret, _, err := srv.Tokens().Issue(ctx, auth.IssueRequest{Subject: name, Kind: kind, Name: name, Grants: []auth.Grant{g}})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	m := contractstest.Model(t)
	base := "http://" + srv.Addr()
	steward := &bulkimport.HTTPSink{BaseURL: base, Token: token("anna", auth.KindUser, auth.Grant{Role: auth.RoleSteward, Concepts: []string{"unit"}}), Model: m, Reason: "migration 2026"}
	fb := &bulkimport.HTTPSink{BaseURL: base, Token: token("folkbokforing", auth.KindSystem, auth.Grant{Role: auth.RolePublisher, System: "folkbokforing"}), Model: m, Reason: "migration 2026"}

	unit := map[string]any{"name": "Ekskolan", "unitType": "PRIMARY_SCHOOL", "ownerNamnd": "n-1", "openingHours": []any{}, "validFrom": "2019-08-01"}
	id, err := steward.Put(ctx, "unit", unit)
	if err != nil || id == "" {
		t.Fatalf("put unit: %q %v", id, err)
	}
	h, err := (&client.Client{BaseURL: base, Token: steward.Token}).History(ctx, "unit", id)
	if err != nil || len(h) != 1 || h[0].Reason != "migration 2026" {
		t.Fatalf("history of the imported unit: %+v %v, want one change with the import's reason", h, err)
	}

	person := map[string]any{"personalIdentityNumber": "198507099805", "givenNames": "Anna", "surname": "Andersson", "dateOfBirth": "1985-07-09",
		"protectedIdentity": "NONE", "registrationStatus": "REGISTERED"}
	pid, err := fb.Put(ctx, "person", person)
	if err != nil || pid == "" {
		t.Fatalf("publish person: %q %v", pid, err)
	}
	person["surname"] = "Lind"
	if again, err := fb.Put(ctx, "person", person); err != nil || again != pid {
		t.Fatalf("publish the person again: %q %v, want the same record %q", again, err, pid)
	}

	delete(unit, "name")
	_, err = steward.Put(ctx, "unit", unit)
	var rej *bulkimport.Rejection
	if !errors.As(err, &rej) || len(rej.Problems) == 0 || rej.Problems[0].Field != "name" {
		t.Fatalf("invalid unit: %v, want a rejection naming name", err)
	}
	if _, err := steward.Put(ctx, "person", person); err == nil || !bulkimport.Permanent(err) {
		t.Fatalf("a steward of unit publishing a person: %v, want a permanent refusal", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	gone := &bulkimport.HTTPSink{BaseURL: down.URL, Token: "t", Model: m}
	if _, err := gone.Put(ctx, "unit", unit); err == nil || bulkimport.Permanent(err) || errors.As(err, &rej) {
		t.Fatalf("an unreachable hub: %v, want an error to retry", err)
	}
}
