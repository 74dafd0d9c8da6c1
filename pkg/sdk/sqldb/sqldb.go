// Package sqldb is Samnav's one SQL layer: it opens SQLite (modernc.org/sqlite,
// pure Go) or PostgreSQL (pgx) from one URL-style setting with the settings
// every store relies on, names the SQL dialect (Dialect), and applies each
// store's versioned migrations (Migrate).
//
// The database setting is one string:
//
//	sqlite:///var/lib/samnav/masterdata.db   an absolute path
//	sqlite:data/masterdata.db                a path relative to the working directory
//	file:data/masterdata.db?mode=rwc         an SQLite URI, passed on as it is
//	postgres://user:pass@host:5432/db?sslmode=verify-full
//	postgresql://...                         the same
//	host=db user=samnav dbname=samnav        a libpq keyword/value string (PostgreSQL)
//
// Errors and String never show the password.
//
// Open uses the database/sql drivers "sqlite" (modernc.org/sqlite) and
// "pgx" (pgx v5); a program links them by importing
// github.com/samnav/samnav/pkg/sqldb/drivers. This package does not, so
// that stores, which need only Dialect and Migrate, link no driver.
package sqldb

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// sqlitePragmas are set on every SQLite connection:
//   - journal_mode(WAL): readers do not block the writer, nor it them;
//   - busy_timeout(10000): a writer waits up to 10 s for another instead
//     of failing at once;
//   - synchronous(FULL): a commit the API acknowledged survives a power
//     loss or OS crash too, not only a process crash (NORMAL in WAL mode
//     may lose the last commits then); the cost is one fsync per commit;
//   - foreign_keys(1): REFERENCES clauses are enforced, as on PostgreSQL;
//   - _txlock=immediate: every transaction takes the write lock when it
//     begins, so two writers queue on busy_timeout instead of one failing
//     with SQLITE_BUSY when it upgrades a read to a write.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"

// Location is a parsed database setting.
type Location struct {
	// Dialect is the database the setting names.
	Dialect Dialect
	// File is the SQLite database file ("" for PostgreSQL), so a caller
	// can put other files beside it.
	File string

	setting string // as given, for String
	dsn     string // the driver's DSN
}

// keywordValue matches the start of a libpq keyword/value string.
var keywordValue = regexp.MustCompile(`^\s*[a-z_]+\s*=`)

// Parse reads a database setting (see the package comment). The error
// names the rule broken and never contains the password.
func Parse(setting string) (Location, error) {
	s := strings.TrimSpace(setting)
	switch {
	case s == "":
		return Location{}, errors.New("database URL: must not be empty")
	case strings.HasPrefix(s, "sqlite:"):
		rest := strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		return sqliteLocation(setting, rest)
	case strings.HasPrefix(s, "file:"):
		return sqliteLocation(setting, strings.TrimPrefix(s, "file:"))
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"), keywordValue.MatchString(s):
		if err := checkPostgres(s); err != nil {
			return Location{}, fmt.Errorf("database URL %s: %w", Redact(setting), err)
		}
		return Location{Dialect: Postgres, setting: setting, dsn: s}, nil
	}
	return Location{}, fmt.Errorf("database URL %s: must start with sqlite:, file:, postgres:// or postgresql://", Redact(setting))
}

// sslModes are libpq's sslmode values.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// checkPostgres checks what can be checked of a PostgreSQL setting before
// connecting; the driver checks the rest when it connects. Its errors never
// quote the setting (which may hold a password).
func checkPostgres(s string) error {
	if keywordValue.MatchString(s) && !strings.Contains(s, "://") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL (are special characters in the password percent-encoded?)")
	}
	if mode := u.Query().Get("sslmode"); mode != "" && !slices.Contains(sslModes, mode) {
		return fmt.Errorf("sslmode %q: must be one of %s", mode, strings.Join(sslModes, ", "))
	}
	return nil
}

func sqliteLocation(setting, rest string) (Location, error) {
	file, query, _ := strings.Cut(rest, "?")
	if file == "" {
		return Location{}, fmt.Errorf("database URL %s: the SQLite file path must not be empty", Redact(setting))
	}
	if _, err := url.ParseQuery(query); err != nil {
		return Location{}, fmt.Errorf("database URL %s: the query is not key=value pairs", Redact(setting))
	}
	dsn := "file:" + file + "?"
	if query != "" {
		dsn += query + "&"
	}
	return Location{Dialect: SQLite, File: file, setting: setting, dsn: dsn + sqlitePragmas}, nil
}

// String is the setting with any password replaced by "xxxxx".
func (l Location) String() string { return Redact(l.setting) }

// Open opens the database l names. It does not connect: the first
// statement (or PingContext) does. For SQLite it creates the file's
// directory if it is missing, as SQLite creates the file.
func (l Location) Open() (*sql.DB, error) {
	if err := l.Dialect.Valid(); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	driver := map[Dialect]string{SQLite: "sqlite", Postgres: "pgx"}[l.Dialect]
	if !slices.Contains(sql.Drivers(), driver) {
		return nil, fmt.Errorf("open %s: database/sql driver %q is not linked in; import github.com/samnav/samnav/pkg/sqldb/drivers", l.Dialect, driver)
	}
	switch l.Dialect {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(l.File), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite %s: create directory: %w", l, err)
		}
		db, err := sql.Open("sqlite", l.dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", l, err)
		}
		return db, nil
	case Postgres:
		db, err := sql.Open("pgx", l.dsn)
		if err != nil {
			// The driver's message may quote the DSN.
			return nil, fmt.Errorf("open postgres %s: the driver refused the connection string", l)
		}
		return db, nil
	}
	return nil, fmt.Errorf("open database: %w", l.Dialect.Valid())
}

// Open parses setting (see the package comment) and opens the database.
func Open(setting string) (*sql.DB, Dialect, error) {
	l, err := Parse(setting)
	if err != nil {
		return nil, 0, err
	}
	db, err := l.Open()
	if err != nil {
		return nil, 0, err
	}
	return db, l.Dialect, nil
}

// password matches a password in a keyword/value string; queryPassword a
// password parameter in a URL's query.
var (
	password      = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)
	queryPassword = regexp.MustCompile(`(?i)([?&]password=)[^&#]*`)
)

// Redact returns setting with any password replaced by "xxxxx", for logs
// and errors. It works on the text, not on a parsed URL, so a setting that
// does not parse is redacted too.
func Redact(setting string) string {
	scheme, rest, ok := strings.Cut(setting, "://")
	if !ok || strings.ContainsAny(scheme, " =") {
		return password.ReplaceAllString(setting, "${1}xxxxx")
	}
	// The user information ends at the last '@': a password may hold
	// '/', '?' or '@' when its writer did not escape them.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
			rest = user + ":xxxxx" + rest[at:]
		}
	}
	return scheme + "://" + queryPassword.ReplaceAllString(rest, "${1}xxxxx")
}
