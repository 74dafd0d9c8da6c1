package daemon_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	_ "github.com/samnav/samnav/pkg/sqldb/drivers" // the drivers OpenDatabase uses
)

// TestBaseProblems: what every service has is checked in one place, each
// problem naming the field, its variable (SAMNAV_<SERVICE>_*) and the
// rule, and never the database password.
func TestBaseProblems(t *testing.T) {
	check := func(_ *testing.T, b daemon.Base) error {
		return daemon.NameVariables(b.Problems("delivery", ":8083"), daemon.BaseVars("delivery"))
	}
	configtest.Run(t, []configtest.Case[daemon.Base]{
		configtest.Valid("sqlite with a data dir", daemon.Base{DataDir: "/tmp/x"}),
		configtest.Valid("postgres", daemon.Base{Driver: "postgres", DSN: "postgres://x"}),
		configtest.Valid("database URL", daemon.Base{Database: "postgres://u:secret@db/x"}),
		configtest.Invalid("wrong driver and address", daemon.Base{Driver: "mysql", Addr: "nope"},
			"Driver:", "(SAMNAV_DELIVERY_DRIVER)", "Addr: must be host:port", "(SAMNAV_DELIVERY_ADDR)"),
		configtest.Invalid("sqlite without a place", daemon.Base{}, "DSN or DataDir", "SAMNAV_DELIVERY_DATABASE, SAMNAV_DELIVERY_DSN or SAMNAV_DELIVERY_DATA_DIR"),
		configtest.Invalid("postgres without DSN", daemon.Base{Driver: "postgres"}, "DSN: required", "(SAMNAV_DELIVERY_DSN)"),
		configtest.Invalid("database URL and DSN", daemon.Base{Database: "sqlite:a.db", DSN: "b.db"}, "Database and DSN: set one", "(SAMNAV_DELIVERY_DATABASE)"),
		configtest.Invalid("bad database URL", daemon.Base{Database: "mysql://u:secret@db/x"}, "Database: database URL mysql://u:xxxxx@db/x: must start with"),
	}, check, "secret")
}

// TestEnvBase: Env.Base reads SAMNAV_<SERVICE>_ADDR, _DATABASE, _DRIVER,
// _DSN and _DATA_DIR, the address defaulting to the service's own.
func TestEnvBase(t *testing.T) {
	env := map[string]string{"SAMNAV_MASTERDATA_DATABASE": "postgres://db/x", "SAMNAV_MASTERDATA_DRIVER": "postgres",
		"SAMNAV_MASTERDATA_DSN": "postgres://old/x", "SAMNAV_MASTERDATA_DATA_DIR": "/var/x", "SAMNAV_SHUTDOWN_GRACE": "7s"}
	e := daemon.NewEnv(func(k string) string { return env[k] })
	b := e.Base("masterdata", ":8082")
	want := daemon.Base{Addr: ":8082", Database: "postgres://db/x", Driver: "postgres", DSN: "postgres://old/x", DataDir: "/var/x"}
	if e.Err() != nil || b.Daemon.Grace().String() != "7s" || b.Daemon.Service != "masterdata" {
		t.Fatalf("Base = %+v, %v", b, e.Err())
	}
	b.Daemon = daemon.Config{}
	if b != want {
		t.Fatalf("Base = %+v, want %+v", b, want)
	}
	if url, err := (daemon.Base{Database: "postgres://db/x"}).DatabaseURL("masterdata"); err != nil || url != "postgres://db/x" {
		t.Fatalf("DatabaseURL = %q, %v", url, err)
	}
	if url, _ := (daemon.Base{DataDir: "/d"}).DatabaseURL("registry"); url != "sqlite:/d/registry.db" {
		t.Fatalf("DatabaseURL of a data dir = %q, want sqlite:/d/registry.db", url)
	}
}

// TestKafkaProblems: a service's Kafka settings are checked in one place,
// each problem naming the Config field and its SAMNAV_KAFKA_* variable.
func TestKafkaProblems(t *testing.T) {
	check := func(_ *testing.T, s kafkaauth.Settings) error {
		return daemon.NameVariables(daemon.KafkaProblems(s), daemon.KafkaVars)
	}
	configtest.Run(t, []configtest.Case[kafkaauth.Settings]{
		configtest.Valid("none", kafkaauth.Settings{}),
		configtest.Valid("valid", kafkaauth.Settings{Brokers: []string{"k:9092"}, SASL: kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "u", Password: "pw"}}),
		configtest.Invalid("bad broker", kafkaauth.Settings{Brokers: []string{"k:9092", "k"}}, "Brokers[1]: must be host:port", "(SAMNAV_KAFKA_BROKERS)"),
		configtest.Invalid("bad credentials", kafkaauth.Settings{SASL: kafkaauth.Config{Username: "u"}}, "Kafka: mechanism: required", "(SAMNAV_KAFKA_SASL_*)"),
		configtest.Invalid("PLAIN without TLS", kafkaauth.Settings{SASL: kafkaauth.Config{Mechanism: kafkaauth.Plain, Username: "u", Password: "pw"}},
			"KafkaConnection: ", "PLAIN sends the password itself", "(SAMNAV_KAFKA_*)"),
	}, check, "pw")
}

// TestOpenDatabase: a service's database opens from its Base, in a data
// directory made for it (where the service keeps other files too); a
// setting that names no database is refused naming the service's config.
func TestOpenDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "delivery")
	db, loc, err := daemon.Base{DataDir: dir}.OpenDatabase("delivery")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if loc.Dialect != sqldb.SQLite || loc.File != filepath.Join(dir, "delivery.db") {
		t.Fatalf("location %v %q, want SQLite in %s", loc.Dialect, loc.File, dir)
	}
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (daemon.Base{}).OpenDatabase("delivery"); err == nil || !strings.HasPrefix(err.Error(), "delivery config: ") {
		t.Fatalf("no database: %v, want a delivery config error", err)
	}
}
