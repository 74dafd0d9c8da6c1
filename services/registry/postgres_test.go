package registry_test

import (
	"context"
	"testing"

	hambareg "github.com/hamba/avro/v2/registry"

	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/services/registry"
)

// TestPostgresDriver runs the registry on PostgreSQL end to end, and
// checks two replicas sharing one database agree on ids.
func TestPostgresDriver(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t).NewDatabase(t)
	usePG := func(c *registry.Config) { c.Driver = registry.DriverPostgres; c.DSN = dsn; c.DataDir = "" }
	_, baseA := start(t, "", usePG)
	_, baseB := start(t, "", usePG)
	a, _ := hambareg.NewClient(baseA, hambareg.WithBasicAuth(user, pass))
	b, _ := hambareg.NewClient(baseB, hambareg.WithBasicAuth(user, pass))
	mustCreate(t, a, "person-value", personV1, 1)
	mustCreate(t, b, "person-value", personV2, 2)
	mustCreate(t, a, "other-value", personV2, 2)
	if info, err := a.GetLatestSchemaInfo(ctx, "person-value"); err != nil || info.ID != 2 || info.Version != 2 {
		t.Fatalf("latest via replica A = %+v, %v; want id 2 version 2", info, err)
	}
	_, _, err := b.CreateSchema(ctx, "person-value", personBad)
	assertCode(t, err, 409)
}
