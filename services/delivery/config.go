package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/delivery/internal/feed"
)

// Driver names.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DefaultAddr is where the service listens by default.
const DefaultAddr = ":8083"

// Config configures the service.
type Config struct {
	// Addr is the listen address; "" means DefaultAddr, ":0" a free port.
	Addr string
	// Database is the database URL (see pkg/sdk/sqldb): sqlite:PATH or
	// postgres://... When empty, Driver and DSN, the settings of earlier
	// releases, name it, or else it is the SQLite file DataDir/delivery.db
	// (sqldb.Resolve). On SQLite the webhook queue and the feed log are
	// files of their own: DataDir/webhook.db and DataDir/feed.db, or
	// without DataDir beside the database (delivery-webhook.db).
	Database string
	// Driver is "sqlite" (default) or "postgres", and DSN the database:
	// the older form of Database.
	Driver  string
	DSN     string
	DataDir string
	// RegistryURL is the schema registry; required unless Deps.Registry.
	RegistryURL string
	// Brokers are the Kafka bootstrap addresses. Required: delivery reads
	// the state topics.
	Brokers []string
	// Kafka is the service's own Kafka credentials (SASL); the zero value
	// connects without SASL. With a mechanism set, the service also applies
	// the subscribers' ACLs to the broker (see kafkaview.Reconcile).
	Kafka kafkaauth.Config
	// KafkaConnection is the TLS, client id and timeouts of every Kafka
	// client of the service (SAMNAV_KAFKA_TLS, _TLS_CA_FILE, _CLIENT_ID,
	// _DIAL_TIMEOUT, _READ_TIMEOUT, _WRITE_TIMEOUT; see kafka()).
	KafkaConnection kafkaauth.Connection
	// SyncInterval is how often the pipeline re-reads the approved
	// subscriptions (besides reacting at once to changes made through this
	// server); default 10s.
	SyncInterval time.Duration
	// Model is the concept model; nil means the embedded contracts model.
	Model *model.Model
	// WebhookAllowPrivate lets webhooks go to loopback, private and
	// link-local addresses (development and tests only); default false:
	// such URLs are refused at registration and at every connection.
	WebhookAllowPrivate bool
	// FeedCursorKey signs pull-feed cursors (at least 32 bytes, the same
	// on every replica). Empty means a key kept in DataDir/feed-cursor.key
	// (made on first start), or, without DataDir, a random key per
	// process (cursors then do not survive a restart).
	FeedCursorKey []byte
	// KeyFile is the key file (pkg/keyring) webhook signing secrets are
	// encrypted at rest under; it must exist, readable by its owner only.
	// Empty means DataDir/secrets.key, made on first start, or, without
	// DataDir, no key: webhook endpoints cannot then be registered, and
	// the service does not start on a database that holds their secrets.
	KeyFile string
	// Daemon holds what every daemon shares: logging, OTLP, the shutdown
	// grace and the HTTP server's limits (its Addr is Addr's variable).
	Daemon daemon.Config
}

// DaemonConfig returns what every daemon shares (daemon.ServiceConfig).
func (c Config) DaemonConfig() daemon.Config { return c.Daemon }

// Validate reports every problem with c at once, each naming the field and
// the rule.
func (c Config) Validate() error {
	_, dbErr := c.databaseURL()
	errs := []error{dbErr, daemon.CheckHostPort("Addr", cmp.Or(c.Addr, DefaultAddr))}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("Brokers: at least one Kafka bootstrap address is required"))
	}
	for i, b := range c.Brokers {
		errs = append(errs, daemon.CheckHostPort(fmt.Sprintf("Brokers[%d]", i), b))
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Kafka: %w", err))
	}
	if err := c.KafkaConnection.Validate(c.Kafka); err != nil {
		errs = append(errs, fmt.Errorf("KafkaConnection: %w", err))
	}
	if c.SyncInterval < 0 {
		errs = append(errs, errors.New("SyncInterval: must not be negative"))
	}
	if len(c.FeedCursorKey) > 0 && len(c.FeedCursorKey) < feed.MinCursorKeyLen {
		errs = append(errs, fmt.Errorf("FeedCursorKey: must be at least %d bytes", feed.MinCursorKeyLen))
	}
	return daemon.NameVariables(errs, configVars)
}

// Environment variables read by LoadConfig.
const (
	EnvAddr = "SAMNAV_DELIVERY_ADDR"
	// EnvDatabase is the database URL (Config.Database); EnvDriver and
	// EnvDSN are its older form, still read.
	EnvDatabase    = "SAMNAV_DELIVERY_DATABASE"
	EnvDriver      = "SAMNAV_DELIVERY_DRIVER"
	EnvDSN         = "SAMNAV_DELIVERY_DSN"
	EnvDataDir     = "SAMNAV_DELIVERY_DATA_DIR"
	EnvRegistryURL = "SAMNAV_REGISTRY_URL"
	EnvBrokers     = "SAMNAV_KAFKA_BROKERS"
	// EnvWebhookAllowPrivate "true" lets webhooks reach private addresses.
	EnvWebhookAllowPrivate = "SAMNAV_DELIVERY_WEBHOOK_ALLOW_PRIVATE"
	// EnvFeedCursorKey is the feed cursor key (at least 32 bytes).
	EnvFeedCursorKey = "SAMNAV_DELIVERY_FEED_CURSOR_KEY"
	// EnvKeyFile is the key file's path (Config.KeyFile).
	EnvKeyFile = keyring.EnvFile
)

// LoadConfig reads a Config from the environment through getenv: the
// variables above, the Kafka settings (kafkaauth.LoadSettings) and what
// every daemon shares (daemon.LoadConfig). A value that cannot be read is
// an error naming its variable, every one at once; the Config holds the
// rest. Call Validate for the rules between fields.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := daemon.NewEnv(getenv)
	d := env.Daemon("delivery", DefaultAddr)
	ks, err := kafkaauth.LoadSettings(getenv, "SAMNAV_") // EnvBrokers and the rest of SAMNAV_KAFKA_*
	env.Fail(err)
	c := Config{Brokers: ks.Brokers, Kafka: ks.SASL, KafkaConnection: ks.Connection, Addr: d.Addr, Database: env.String(EnvDatabase), Driver: env.String(EnvDriver),
		DSN: env.String(EnvDSN), DataDir: env.String(EnvDataDir), RegistryURL: env.String(EnvRegistryURL),
		WebhookAllowPrivate: env.Bool(EnvWebhookAllowPrivate), FeedCursorKey: []byte(env.String(EnvFeedCursorKey)), KeyFile: env.String(EnvKeyFile), Daemon: d}
	return c, env.Err()
}

// RunAlone is Run with the process's logger and telemetry, on a
// configuration LoadConfig read: what cmd/deliveryd runs (see daemon.Main).
func RunAlone(ctx context.Context, cfg Config, tel *telemetry.Telemetry) error {
	return Run(ctx, cfg, Deps{Logger: tel.Logger, Telemetry: tel})
}

// databaseURL is the database Config names (sqldb.Resolve).
func (c Config) databaseURL() (string, error) {
	return sqldb.Resolve(c.Database, c.Driver, c.DSN, c.DataDir, "delivery.db")
}

// configVars names the variable LoadConfig reads each Config field from,
// for Validate's messages.
var configVars = map[string]string{"Addr": EnvAddr, "Driver": EnvDriver, "DSN": EnvDSN, "DataDir": EnvDataDir, "DSN or DataDir": EnvDSN + " or " + EnvDataDir,
	"Brokers": EnvBrokers, "Kafka": "SAMNAV_KAFKA_SASL_*", "KafkaConnection": "SAMNAV_KAFKA_*", "FeedCursorKey": EnvFeedCursorKey}
