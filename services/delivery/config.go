package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
)

// Driver names.
const (
	DriverSQLite   = sqldb.DriverSQLite
	DriverPostgres = sqldb.DriverPostgres
)

// DefaultAddr is where the service listens by default.
const DefaultAddr = ":8083"

// service names the service in its environment variables
// (SAMNAV_DELIVERY_*) and its SQLite file (delivery.db).
const service = "delivery"

// Config configures the service.
type Config struct {
	// Base is where the service listens, its database and what every
	// daemon shares (SAMNAV_DELIVERY_ADDR, _DATABASE, _DRIVER, _DSN,
	// _DATA_DIR). On SQLite the webhook queue and the feed log are files
	// of their own: DataDir/webhook.db and DataDir/feed.db, or without
	// DataDir beside the database (delivery-webhook.db).
	daemon.Base
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
	// ViewCompactionLag bounds how long a Kafka view topic keeps a value
	// that a later record of the same key replaced: when a person becomes
	// a protected identity, the record that showed their address is gone
	// from every view of a subscription not approved for protected
	// identities within it (the topics' max.compaction.lag.ms and
	// segment.ms; see docs/architecture.md "Copies forget within
	// a bound"). Applied at start to view topics that exist. Default
	// DefaultViewCompactionLag; at least MinViewCompactionLag.
	ViewCompactionLag time.Duration
	// ViewDeleteRetention is how long a view topic keeps a tombstone
	// (an erased record, its opaque key only) after compaction reached
	// it (delete.retention.ms); default DefaultViewDeleteRetention.
	ViewDeleteRetention time.Duration
	// OIDC, with an issuer set, accepts the bearer access tokens of that
	// OpenID Provider beside the API tokens (SAMNAV_OIDC_*); off by default.
	OIDC auth.OIDCConfig
}

// Defaults and limits of the view topics' compaction bounds.
const (
	// DefaultViewCompactionLag is an hour: the bound within which a
	// protected person's earlier address leaves the view topics, while
	// each view partition rolls a segment file at most hourly.
	DefaultViewCompactionLag = kafkaview.DefaultMaxCompactionLag
	// MinViewCompactionLag: a shorter bound rolls a segment file per
	// view partition every few seconds, which the broker keeps open.
	MinViewCompactionLag = time.Minute
	// DefaultViewDeleteRetention is seven days, Apache Kafka's default
	// offsets retention: a subscriber whose group still has an offset
	// sees every erasure.
	DefaultViewDeleteRetention = kafkaview.DefaultDeleteRetention
)

// Validate reports every problem with c at once, each naming the field and
// the rule.
func (c Config) Validate() error {
	errs := append(c.Problems(service, DefaultAddr), daemon.KafkaProblems(c.kafka())...)
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("Brokers: at least one Kafka bootstrap address is required"))
	}
	if c.SyncInterval < 0 {
		errs = append(errs, errors.New("SyncInterval: must not be negative"))
	}
	if c.ViewCompactionLag != 0 && c.ViewCompactionLag < MinViewCompactionLag {
		errs = append(errs, fmt.Errorf("ViewCompactionLag: must be 0 (default %s) or at least %s, got %s", DefaultViewCompactionLag, MinViewCompactionLag, c.ViewCompactionLag))
	}
	if c.ViewDeleteRetention < 0 {
		errs = append(errs, fmt.Errorf("ViewDeleteRetention: must not be negative, got %s", c.ViewDeleteRetention))
	}
	if len(c.FeedCursorKey) > 0 && len(c.FeedCursorKey) < feed.MinCursorKeyLen {
		errs = append(errs, fmt.Errorf("FeedCursorKey: must be at least %d bytes", feed.MinCursorKeyLen))
	}
	errs = append(errs, c.OIDC.Validate())
	return daemon.NameVariables(errs, configVars, daemon.BaseVars(service), daemon.KafkaVars)
}

// Environment variables read by LoadConfig, besides those of daemon.Base
// (SAMNAV_DELIVERY_ADDR, _DATABASE, _DRIVER, _DSN, _DATA_DIR) and the
// Kafka settings (SAMNAV_KAFKA_*).
const (
	EnvRegistryURL = "SAMNAV_REGISTRY_URL"
	// EnvWebhookAllowPrivate "true" lets webhooks reach private addresses.
	EnvWebhookAllowPrivate = "SAMNAV_DELIVERY_WEBHOOK_ALLOW_PRIVATE"
	// EnvFeedCursorKey is the feed cursor key (at least 32 bytes).
	EnvFeedCursorKey = "SAMNAV_DELIVERY_FEED_CURSOR_KEY"
	// EnvKeyFile is the key file's path (Config.KeyFile).
	EnvKeyFile = keyring.EnvFile
	// EnvViewCompactionLag is Config.ViewCompactionLag, a duration such as 1h.
	EnvViewCompactionLag = "SAMNAV_DELIVERY_VIEW_COMPACTION_LAG"
	// EnvViewDeleteRetention is Config.ViewDeleteRetention, a duration such as 168h.
	EnvViewDeleteRetention = "SAMNAV_DELIVERY_VIEW_DELETE_RETENTION"
)

// LoadConfig reads a Config from the environment through getenv: the
// variables above, the Kafka settings (daemon.Env.LoadKafka) and what
// every service has (daemon.Env.Base). A value that cannot be read is an
// error naming its variable, every one at once; the Config holds the
// rest. Call Validate for the rules between fields.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := daemon.NewEnv(getenv)
	ks := env.LoadKafka()
	c := Config{Base: env.Base(service, DefaultAddr), Brokers: ks.Brokers, Kafka: ks.SASL, KafkaConnection: ks.Connection,
		RegistryURL: env.String(EnvRegistryURL), WebhookAllowPrivate: env.Bool(EnvWebhookAllowPrivate), FeedCursorKey: []byte(env.String(EnvFeedCursorKey)),
		KeyFile: env.String(EnvKeyFile), ViewCompactionLag: env.Duration(EnvViewCompactionLag), ViewDeleteRetention: env.Duration(EnvViewDeleteRetention), OIDC: env.LoadOIDC()}
	return c, env.Err()
}

// RunAlone is Run with the process's logger and telemetry, on a
// configuration LoadConfig read: what cmd/deliveryd runs (see daemon.Main).
func RunAlone(ctx context.Context, cfg Config, tel *telemetry.Telemetry) error {
	return Run(ctx, cfg, Deps{Logger: tel.Logger, Telemetry: tel})
}

// configVars names the variable LoadConfig reads each of the service's own
// fields from, for Validate's messages.
var configVars = map[string]string{"FeedCursorKey": EnvFeedCursorKey, "ViewCompactionLag": EnvViewCompactionLag, "ViewDeleteRetention": EnvViewDeleteRetention}
