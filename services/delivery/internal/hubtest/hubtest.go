// Package hubtest starts the parts of a hub the delivery service's
// package tests run against: a SASL broker with the hub's superuser and a
// schema registry, with the concept model and the Avro schema the
// contracts generator makes of each concept (what the pipeline and the
// view channel are built from). Everything it starts stops at the end of
// the test.
package hubtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/contracts/generator"
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/registry"
)

// HubUser is the hub's superuser on the brokers StartBroker starts.
var HubUser = kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "samnav-hub", Password: "hub-secret"}

// StartBroker starts an embedded broker enforcing SASL and ACLs, with
// HubUser as its superuser and topics created.
func StartBroker(t testing.TB, ctx context.Context, topics ...kafkatopics.Spec) *embeddedkafka.Broker {
	t.Helper()
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{Superuser: HubUser, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	return broker
}

// Registry is a running schema registry and the model whose schemas a
// hub registers in it.
type Registry struct {
	URL     string // the registry's base URL, http://host:port
	Client  *avroserde.RegistryClient
	Model   *model.Model
	Schemas map[string]string // Avro schema text by concept id
}

// StartRegistry starts an empty schema registry on SQLite in a temporary
// directory, accepting every write.
func StartRegistry(t testing.TB, ctx context.Context) *Registry {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "registry")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	rs, err := registry.New(registry.Config{Addr: "127.0.0.1:0", Driver: registry.DriverSQLite, DataDir: dir, Authorizer: registry.AllowAllWrites{}}, registry.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	url := "http://" + rs.Addr()
	client, err := avroserde.NewRegistryClient(url)
	if err != nil {
		t.Fatal(err)
	}
	m, schemas := Model(t)
	return &Registry{URL: url, Client: client, Model: m, Schemas: schemas}
}

// Model returns the concept model and the Avro schema text of each of its
// concepts, by concept id.
func Model(t testing.TB) (*model.Model, map[string]string) {
	t.Helper()
	m, err := contracts.Model()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := generator.AvroSchemas(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, schemas
}
