package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/registry/internal/schemas"
)

// Config configures the registry. The zero value is not valid: Driver, a
// database location and an Authorizer are required.
type Config struct {
	// Base is where the registry listens (default ":8081"; ":0" picks a
	// free port, see Server.Addr), its database (registry.db in DataDir on
	// SQLite) and what every daemon shares (SAMNAV_REGISTRY_ADDR,
	// _DATABASE, _DRIVER, _DSN, _DATA_DIR).
	daemon.Base
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
}

// service names the registry in its environment variables
// (SAMNAV_REGISTRY_*) and its SQLite file (registry.db).
const service = "registry"

// Seed is a schema to register under Subject at start-up.
type Seed struct {
	Subject string
	Schema  string
}

// Driver names.
const (
	DriverSQLite   = sqldb.DriverSQLite
	DriverPostgres = sqldb.DriverPostgres
)

// DefaultAddr is the Confluent Schema Registry's usual port.
const DefaultAddr = ":8081"

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DefaultCompatibility == "" {
		c.DefaultCompatibility = string(compat.Default)
	}
	return c
}

// Validate reports every problem with c at once, each naming the field
// and the rule.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Database == "" && c.Driver == "" {
		errs = append(errs, errors.New(`Database or Driver: one is required; Driver is "sqlite" or "postgres"`), daemon.CheckHostPort("Addr", c.Addr))
	} else {
		errs = c.Problems(service, DefaultAddr)
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
	if err := daemon.NameVariables(errs, configVars, daemon.BaseVars(service)); err != nil {
		return fmt.Errorf("invalid registry config: %w", err)
	}
	return nil
}

// Environment variables read by LoadConfig, besides those of daemon.Base
// (SAMNAV_REGISTRY_ADDR, _DATABASE, _DRIVER, _DSN, _DATA_DIR).
const (
	EnvDefaultCompatibility = "SAMNAV_REGISTRY_DEFAULT_COMPATIBILITY"
	// EnvTokens is a comma-separated list of accepted bearer tokens.
	EnvTokens = "SAMNAV_REGISTRY_TOKENS" //nolint:gosec // G101: the name of an environment variable, not a credential
	// EnvBasicAuth is a comma-separated list of accepted "user:password".
	EnvBasicAuth = "SAMNAV_REGISTRY_BASIC_AUTH"
	// EnvOpenWrites = "true" leaves writes open (development only).
	EnvOpenWrites = "SAMNAV_REGISTRY_OPEN_WRITES"
)

// LoadConfig reads a Config from the environment through getenv
// (os.Getenv in main): the variables above and what every service has
// (daemon.Env.Base). Driver defaults to sqlite. A value that cannot be
// read is an error naming its variable; call Validate for the rest, which
// reports every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := daemon.NewEnv(getenv)
	cfg := Config{Base: env.Base(service, DefaultAddr), DefaultCompatibility: env.String(EnvDefaultCompatibility)}
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
var configVars = map[string]string{"DefaultCompatibility": EnvDefaultCompatibility, "Database or Driver": daemon.ServiceEnv(service, daemon.SettingDatabase) + " or " + daemon.ServiceEnv(service, daemon.SettingDriver),
	"Authorizer": EnvTokens + ", " + EnvBasicAuth + " or " + EnvOpenWrites}
