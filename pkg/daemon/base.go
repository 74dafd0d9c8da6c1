package daemon

import (
	"cmp"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// Settings of a service's Base, each read from the environment variable
// SAMNAV_<SERVICE>_<setting> (see ServiceEnv).
const (
	SettingAddr     = "ADDR"
	SettingDatabase = "DATABASE"
	SettingDriver   = "DRIVER"
	SettingDSN      = "DSN"
	SettingDataDir  = "DATA_DIR"
)

// ServiceEnv is the environment variable of a setting of service:
// SAMNAV_<SERVICE>_<SETTING>, for example SAMNAV_DELIVERY_DATA_DIR.
func ServiceEnv(service, setting string) string {
	return "SAMNAV_" + strings.ToUpper(service) + "_" + setting
}

// Base is the part of its configuration every Samnav service has: where
// it listens, where its database is, and what every daemon shares. A
// service's Config embeds it and holds only its own settings; Env.Base
// reads it, Problems checks it and BaseVars names its variables, so the
// rules and the names are the same for every service.
type Base struct {
	// Addr is the listen address (SAMNAV_<SERVICE>_ADDR); "" means the
	// service's default, ":0" a free port.
	Addr string
	// Database is the database URL (SAMNAV_<SERVICE>_DATABASE, see
	// pkg/sdk/sqldb): sqlite:PATH or postgres://... When empty, Driver and
	// DSN, the settings of earlier releases, name it, or else it is the
	// SQLite file DataDir/<service>.db (sqldb.Resolve).
	Database string
	// Driver is "sqlite" (default) or "postgres", and DSN the database: a
	// PostgreSQL connection string, or a SQLite file path. Together they
	// are the older form of Database.
	Driver string
	DSN    string
	// DataDir holds the service's files: its SQLite database when neither
	// Database nor DSN names one, and whatever else the service keeps.
	DataDir string
	// Daemon holds what every daemon shares: logging, OTLP, the shutdown
	// grace and the HTTP server's limits (its Addr is Addr's variable).
	Daemon Config
}

// DaemonConfig returns what every daemon shares (ServiceConfig).
func (b Base) DaemonConfig() Config { return b.Daemon }

// ListenAddr returns Addr, or defaultAddr when Addr is empty.
func (b Base) ListenAddr(defaultAddr string) string { return cmp.Or(b.Addr, defaultAddr) }

// DatabaseURL is the database b names for service (sqldb.Resolve): the
// SQLite file of a DataDir is <service>.db.
func (b Base) DatabaseURL(service string) (string, error) {
	return sqldb.Resolve(b.Database, b.Driver, b.DSN, b.DataDir, service+".db")
}

// OpenDatabase opens the database b names for service (DatabaseURL),
// creating DataDir first when one is set, since a service keeps files of
// its own there beside (or instead of) its SQLite database. A setting that
// names no database is an error "<service> config: ..."; the Location
// tells the caller the dialect and the SQLite file.
func (b Base) OpenDatabase(service string) (*sql.DB, sqldb.Location, error) {
	url, err := b.DatabaseURL(service)
	if err != nil {
		return nil, sqldb.Location{}, fmt.Errorf("%s config: %w", service, err)
	}
	loc, err := sqldb.Parse(url)
	if err != nil {
		return nil, sqldb.Location{}, fmt.Errorf("%s config: %w", service, err)
	}
	if b.DataDir != "" {
		if err := os.MkdirAll(b.DataDir, 0o750); err != nil {
			return nil, sqldb.Location{}, fmt.Errorf("create data dir: %w", err)
		}
	}
	db, err := loc.Open()
	if err != nil {
		return nil, sqldb.Location{}, err
	}
	return db, loc, nil
}

// Problems reports what is wrong with b for service listening by default
// on defaultAddr, each problem naming the field and the rule (NameVariables
// with BaseVars adds the variable).
func (b Base) Problems(service, defaultAddr string) []error {
	_, dbErr := b.DatabaseURL(service)
	return []error{dbErr, CheckHostPort("Addr", b.ListenAddr(defaultAddr))}
}

// Base returns what every service has, read for service from
// SAMNAV_<SERVICE>_ADDR (defaultAddr when unset), _DATABASE, _DRIVER,
// _DSN and _DATA_DIR, with what every daemon shares (LoadConfig).
func (e *Env) Base(service, defaultAddr string) Base {
	d := e.Daemon(service, defaultAddr)
	return Base{Addr: d.Addr, Database: e.String(ServiceEnv(service, SettingDatabase)), Driver: e.String(ServiceEnv(service, SettingDriver)),
		DSN: e.String(ServiceEnv(service, SettingDSN)), DataDir: e.String(ServiceEnv(service, SettingDataDir)), Daemon: d}
}

// BaseVars names the variable Env.Base reads each field of a Base from,
// for NameVariables: the keys are the field names Problems' errors start
// with.
func BaseVars(service string) map[string]string {
	env := func(setting string) string { return ServiceEnv(service, setting) }
	return map[string]string{"Addr": env(SettingAddr), "Database": env(SettingDatabase), "Driver": env(SettingDriver), "DSN": env(SettingDSN),
		"DataDir": env(SettingDataDir), "Database, DSN or DataDir": env(SettingDatabase) + ", " + env(SettingDSN) + " or " + env(SettingDataDir)}
}

// Kafka environment variables of a service (kafkaauth.LoadSettings with
// the prefix KafkaEnvPrefix).
const (
	KafkaEnvPrefix = "SAMNAV_"
	EnvBrokers     = KafkaEnvPrefix + kafkaauth.EnvBrokers
)

// LoadKafka reads the settings of a service's Kafka clients from
// SAMNAV_KAFKA_* (kafkaauth.LoadSettings); a value it cannot read is a
// problem kept in e, naming its variable.
func (e *Env) LoadKafka() kafkaauth.Settings {
	s, err := kafkaauth.LoadSettings(e.getenv, KafkaEnvPrefix)
	e.Fail(err)
	return s
}

// KafkaProblems reports what is wrong with a service's Kafka settings,
// each naming the field of the service's Config (Brokers[i], Kafka for the
// SASL credentials, KafkaConnection for the rest) and the rule; KafkaVars
// names their variables. No brokers is not a problem here: a service that
// needs them says so.
func KafkaProblems(s kafkaauth.Settings) []error {
	var errs []error
	for i, b := range s.Brokers {
		errs = append(errs, CheckHostPort(fmt.Sprintf("Brokers[%d]", i), b))
	}
	if err := s.SASL.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Kafka: %w", err))
	}
	if err := s.Connection.Validate(s.SASL); err != nil {
		errs = append(errs, fmt.Errorf("KafkaConnection: %w", err))
	}
	return errs
}

// KafkaVars names the variables of the fields KafkaProblems names, for
// NameVariables.
var KafkaVars = map[string]string{"Brokers": EnvBrokers, "Kafka": KafkaEnvPrefix + "KAFKA_SASL_*", "KafkaConnection": KafkaEnvPrefix + "KAFKA_*"}

// OIDCEnvPrefix prefixes the auth.EnvOIDC* variables: SAMNAV_OIDC_ISSUER ...
const OIDCEnvPrefix = "SAMNAV_"

// LoadOIDC reads the settings of bearer access tokens from an OpenID
// Provider from SAMNAV_OIDC_* (auth.LoadOIDCConfig); a value it cannot
// read is a problem kept in e, naming its variable. Unset, they are off.
func (e *Env) LoadOIDC() auth.OIDCConfig {
	c, err := auth.LoadOIDCConfig(e.getenv, OIDCEnvPrefix)
	e.Fail(err)
	return c
}
