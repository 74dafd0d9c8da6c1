package sqldb

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Driver names of the settings of releases before the database URL.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Resolve returns a service's database URL from its settings, taking the
// first that applies:
//   - database, the URL setting (SAMNAV_<SERVICE>_DATABASE);
//   - the two settings of earlier releases, still honoured: driver
//     ("sqlite", the default when "", or "postgres") and dsn (for SQLite a
//     file path or file: URI, for PostgreSQL a pgx connection string);
//   - for SQLite without a dsn, the file name in dataDir.
//
// Errors name the setting (Database, Driver, DSN, DataDir) and the rule.
func Resolve(database, driver, dsn, dataDir, name string) (string, error) {
	if database != "" {
		if dsn != "" {
			return "", errors.New("Database and DSN: set one, not both (DSN with Driver is the older form of Database)")
		}
		if _, err := Parse(database); err != nil {
			return "", fmt.Errorf("Database: %w", err)
		}
		return database, nil
	}
	switch driver {
	case "", DriverSQLite:
		if dsn == "" {
			if dataDir == "" {
				return "", errors.New("Database, DSN or DataDir: one is required for driver sqlite")
			}
			return "sqlite:" + filepath.Join(dataDir, name), nil
		}
		if strings.HasPrefix(dsn, "file:") {
			return dsn, nil
		}
		return "sqlite:" + dsn, nil
	case DriverPostgres:
		if dsn == "" {
			return "", errors.New("DSN: required for driver postgres")
		}
		l, err := Parse(dsn)
		if err == nil && l.Dialect != Postgres {
			err = errors.New("not a PostgreSQL connection string")
		}
		if err != nil {
			return "", fmt.Errorf("DSN: %w", err)
		}
		return dsn, nil
	}
	return "", fmt.Errorf("Driver: %q is not sqlite or postgres", driver)
}
