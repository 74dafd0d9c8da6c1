// Package drivers links the two database/sql drivers sqldb.Open uses:
// modernc.org/sqlite (pure Go, driver "sqlite") and pgx v5 (driver "pgx").
// A program that opens databases imports it for its side effect:
//
//	import _ "github.com/samnav/samnav/pkg/sqldb/drivers"
//
// It is a package of its own so that a store, which only needs
// sqldb.Dialect and sqldb.Migrate, does not link a driver into every
// program that imports it (the subscriber SDK's sqlstore, for one).
package drivers

import (
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"
)
