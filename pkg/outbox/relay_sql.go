// The relay's SQL, in one dialect.

package outbox

import (
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// queries holds the relay's SQL in one dialect.
type queries struct {
	ensureRelay, acquire, release, read, progress, prune, lag, setError string
}

func newQueries(d sqldb.Dialect) queries {
	now := d.NowMillis()
	return queries{
		ensureRelay: `INSERT INTO outbox_relays (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
		// The owner may always renew: while the row names it, nobody else
		// has published since it took the lease.
		acquire: `UPDATE outbox_relays SET owner = $1, expires_at_ms = ` + now + ` + $2
			WHERE name = $3 AND (owner = $1 OR expires_at_ms < ` + now + `) RETURNING position`,
		release: `UPDATE outbox_relays SET expires_at_ms = 0 WHERE name = $1 AND owner = $2`,
		read: `SELECT id, topic, msg_key, msg_value, msg_value IS NULL, headers, event_id, created_at_us, skipped_reason
			FROM outbox_entries WHERE id > $1 ORDER BY id LIMIT $2`,
		progress: `UPDATE outbox_relays SET position = $1, expires_at_ms = ` + now + ` + $2, last_error = ''
			WHERE name = $3 AND owner = $4`,
		prune: `DELETE FROM outbox_entries WHERE id <= $1 AND id <= (SELECT MIN(position) FROM outbox_relays)`,
		lag: `SELECT COUNT(*) FROM outbox_entries WHERE skipped_reason IS NULL
			AND id > COALESCE((SELECT position FROM outbox_relays WHERE name = $1), 0)`,
		setError: `UPDATE outbox_relays SET last_error = $1 WHERE name = $2 AND owner = $3`,
	}
}
