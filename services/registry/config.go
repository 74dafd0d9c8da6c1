package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/registry/internal/schemas"
)

// Config configures the registry. The zero value is not valid: Driver, a
// database location and an Authorizer are required.
type Config struct {
	// Addr is the listen address; default ":8081". ":0" picks a free port
	// (see Server.Addr).
	Addr string
	// Database is the database URL (see pkg/sdk/sqldb): sqlite:PATH or
	// postgres://... When empty, Driver and DSN, the settings of earlier
	// releases, name it, or else it is the SQLite file
	// DataDir/registry.db (sqldb.Resolve).
	Database string
	// Driver is "sqlite" or "postgres": with DSN, the older form of
	// Database.
	Driver string
	// DSN is the database: a PostgreSQL connection string for "postgres",
	// or a file path for "sqlite".
	DSN string
	// DataDir, for "sqlite" without DSN, holds the database file
	// registry.db.
	DataDir string
	// DefaultCompatibility is the level used where neither a subject nor
	// the registry has one set. Default BACKWARD_TRANSITIVE: Samnav's
	// choice, stricter than Confluent's BACKWARD, so a contract stays
	// readable by every consumer of every earlier version.
	DefaultCompatibility string
	// Seed lists schemas registered at start-up. Registration is
	// idempotent, so seeding the same schemas on every start is safe; a
	// seed incompatible with what is registered fails the start.
	Seed []Seed
	// Authorizer authorizes writes. Required; use AllowAllWrites{} to
	// leave writes open on purpose.
	Authorizer Authorizer
	// Daemon holds what every daemon shares: logging, OTLP, the shutdown
	// grace and the HTTP server's limits (its Addr is Addr's variable).
	Daemon daemon.Config
}

// databaseURL is the database c names (sqldb.Resolve).
func (c Config) databaseURL() (string, error) {
	return sqldb.Resolve(c.Database, c.Driver, c.DSN, c.DataDir, "registry.db")
}

// Seed is a schema to register under Subject at start-up.
type Seed struct {
	Subject string
	Schema  string
}

// Driver names.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DefaultAddr is the Confluent Schema Registry's usual port.
const DefaultAddr = ":8081"

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DefaultCompatibility == "" {
		c.DefaultCompatibility = string(schemas.DefaultLevel)
	}
	return c
}

// DaemonConfig returns what every daemon shares (daemon.ServiceConfig).
func (c Config) DaemonConfig() daemon.Config { return c.Daemon }

// Validate reports every problem with c at once, each naming the field
// and the rule.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Database == "" && c.Driver == "" {
		errs = append(errs, errors.New(`Database or Driver: one is required; Driver is "sqlite" or "postgres"`))
	} else if _, err := c.databaseURL(); err != nil {
		errs = append(errs, err)
	}
	if _, err := schemas.ParseLevel(c.DefaultCompatibility); err != nil {
		errs = append(errs, fmt.Errorf("DefaultCompatibility: %q is not one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE", c.DefaultCompatibility))
	}
	if c.Authorizer == nil {
		errs = append(errs, errors.New("Authorizer: required (use registry.AllowAllWrites{} to leave writes open on purpose)"))
	}
	for i, s := range c.Seed {
		if strings.TrimSpace(s.Subject) == "" {
			errs = append(errs, fmt.Errorf("Seed[%d].Subject: required", i))
		}
		if strings.TrimSpace(s.Schema) == "" {
			errs = append(errs, fmt.Errorf("Seed[%d].Schema: required", i))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid registry config: %w", daemon.NameVariables(errs, configVars))
	}
	return nil
}

// Environment variables read by LoadConfig.
const (
	EnvAddr = "SAMNAV_REGISTRY_ADDR"
	// EnvDatabase is the database URL (Config.Database); EnvDriver and
	// EnvDSN are its older form, still read.
	EnvDatabase             = "SAMNAV_REGISTRY_DATABASE"
	EnvDriver               = "SAMNAV_REGISTRY_DRIVER"
	EnvDSN                  = "SAMNAV_REGISTRY_DSN"
	EnvDataDir              = "SAMNAV_REGISTRY_DATA_DIR"
	EnvDefaultCompatibility = "SAMNAV_REGISTRY_DEFAULT_COMPATIBILITY"
	// EnvTokens is a comma-separated list of accepted bearer tokens.
	EnvTokens = "SAMNAV_REGISTRY_TOKENS" //nolint:gosec // G101: the name of an environment variable, not a credential
	// EnvBasicAuth is a comma-separated list of accepted "user:password".
	EnvBasicAuth = "SAMNAV_REGISTRY_BASIC_AUTH"
	// EnvOpenWrites = "true" leaves writes open (development only).
	EnvOpenWrites = "SAMNAV_REGISTRY_OPEN_WRITES"
)

// LoadConfig reads a Config from the environment through getenv
// (os.Getenv in main): the variables above and what every daemon shares
// (daemon.LoadConfig). Driver defaults to sqlite. A value that cannot be
// read is an error naming its variable; call Validate for the rest, which
// reports every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := daemon.NewEnv(getenv)
	d := env.Daemon("registry", DefaultAddr)
	cfg := Config{
		Daemon:               d,
		Addr:                 d.Addr,
		Database:             env.String(EnvDatabase),
		Driver:               env.String(EnvDriver),
		DSN:                  env.String(EnvDSN),
		DataDir:              env.String(EnvDataDir),
		DefaultCompatibility: env.String(EnvDefaultCompatibility),
	}
	if cfg.Driver == "" && cfg.Database == "" {
		cfg.Driver = DriverSQLite
	}
	tokens, basic := env.List(EnvTokens), env.List(EnvBasicAuth)
	for i, b := range basic {
		if !strings.Contains(b, ":") {
			env.Fail(fmt.Errorf("%s: entry %d is not user:password", EnvBasicAuth, i))
		}
	}
	switch open := env.Bool(EnvOpenWrites); {
	case open && (len(tokens) > 0 || len(basic) > 0):
		env.Fail(fmt.Errorf("%s=true conflicts with %s/%s: choose open writes or credentials", EnvOpenWrites, EnvTokens, EnvBasicAuth))
	case open:
		cfg.Authorizer = AllowAllWrites{}
	case len(tokens) > 0 || len(basic) > 0:
		cfg.Authorizer = NewCredentials(tokens, basic)
	}
	return cfg, env.Err()
}

// RunAlone is Run with the process's logger and telemetry, on a
// configuration LoadConfig read: what cmd/registryd runs (see daemon.Main).
func RunAlone(ctx context.Context, cfg Config, tel *telemetry.Telemetry) error {
	return Run(ctx, cfg, Deps{Logger: tel.Logger, Telemetry: tel})
}

// configVars names the variable LoadConfig reads each Config field from,
// for Validate's messages.
var configVars = map[string]string{"Driver": EnvDriver, "DSN": EnvDSN, "DSN or DataDir": EnvDSN + " or " + EnvDataDir, "DefaultCompatibility": EnvDefaultCompatibility,
	"Authorizer": EnvTokens + ", " + EnvBasicAuth + " or " + EnvOpenWrites}
