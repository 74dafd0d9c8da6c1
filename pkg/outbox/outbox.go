// Package outbox is the transactional outbox and the lossless relay that
// publishes it to Kafka.
//
// A service writes a change and the Kafka records announcing it in ONE SQL
// transaction: it calls Append with its own *sql.Tx. A Relay reads the
// committed entries in commit order, publishes them with acks=all, and only
// after Kafka acknowledged them records its progress, in a transaction that
// also checks it still holds its lease. After a crash or a restart the relay
// resumes after the last acknowledged entry, so an entry may be published
// more than once (consumers deduplicate by Entry.EventID, also sent as the
// ce_id header) but a committed entry is never lost, and an entry whose
// transaction rolled back is never published.
//
// # Commit order, and why a sequence alone is not enough
//
// Entries get their position from an increasing id (SQLite AUTOINCREMENT,
// PostgreSQL identity) and the relay reads "id > position". In PostgreSQL
// concurrent transactions can commit ids out of order: T1 draws 10, T2
// draws 11 and commits first; a relay that then reads 11 and records
// position 11 never sees 10. Append therefore first takes a
// transaction-level advisory lock (pg_advisory_xact_lock) shared by every
// writer of the outbox, and only then draws ids. The lock is released after
// the transaction's commit became visible, so a transaction can only draw an
// id once every transaction that drew a smaller id has committed or rolled
// back: id order is commit order, and whenever the relay sees id n it also
// sees every committed id below n. Rolled-back ids are gaps, which the relay
// passes without waiting.
//
// This design (rather than having the relay stamp positions after commit, or
// reading only below the snapshot's xmin) was chosen because it is simple to
// reason about and to test, gives one total commit order (not only per key),
// and costs the relay nothing. Its price is that writers of the outbox are
// serialised from their Append to their commit: callers should Append as the
// last statement before Commit, and batch many changes in one transaction
// for bulk loads. SQLite has a single writer anyway, so there id order is
// commit order without a lock; open SQLite databases with
// _txlock=immediate, WAL and a busy_timeout.
//
// # What order Kafka receives
//
// The relay sends entries in id order, at most one request per partition at
// a time, and after a failed request resends everything from the first
// unacknowledged entry. So in every partition (hence for every key, which
// the Murmur2 partitioner, as in the Java client, maps to one partition)
// the FIRST occurrences of entries are in commit order, and so are the LAST
// occurrences: a consumer that drops event ids it has seen applies changes
// in commit order, and a compacted topic keeps the newest value per key.
// Between entries of different partitions there is no order on the wire.
//
// # Several relays, one lease
//
// Any number of relays with the same Name may run; one holds the lease (a row
// in outbox_relays: owner, expiry on the database's clock) and publishes. It
// renews the lease with every progress record; others take it over only after
// it expired. A holder starts a Kafka write only when its lease, measured on
// its own monotonic clock from before the renewal was sent, has more than the
// write timeout left, so the old holder has stopped writing before a new one
// can take over; and progress is recorded only if the row still names it.
//
// # Poison entries
//
// An entry Kafka refuses for good (message too large, invalid topic,
// authorisation) is never skipped silently. The relay isolates it (publishes
// the entries before it one request at a time), logs it at error level with
// its id on every attempt, records the error in outbox_relays.last_error,
// and keeps retrying it with the maximum backoff: Lag grows, and nothing
// after it is published, because skipping it would break commit order. An
// operator fixes the cause (raises the broker's message.max.bytes, creates
// the topic, grants the ACL) or calls Skip, which marks that one entry
// skipped with a reason; the relay then passes it with an audit log line.
//
// # Missing topics, and seeing a stall
//
// A topic Kafka reports unknown (deleted by an operator, never created, a
// broker without auto-creation) blocks the relay in the same way: the
// relay finds the entry whose topic is missing and never passes it. With
// RelayConfig.OnUnknownTopic the owner of the stream may create the topic
// (with its partitions and configs) and the relay retries at once; a topic
// the hook refuses stays blocked. Relay.Status reports the last position,
// the pending count and the blocking entry, its topic, its error and since
// when, so that a health check can report a stalled relay, which is
// otherwise visible only in its logs.
//
// Every published and every skipped entry is deleted once every relay name
// in outbox_relays has passed it; the outbox is a transport, not a history.
// Normally one outbox has one relay Name; a second Name (a second copy of
// the stream) sees only entries not yet deleted when it first runs.
//
// # Metrics
//
// Through RelayConfig.MeterProvider (OpenTelemetry), attribute relay=Name:
// samnav.outbox.published and samnav.outbox.skipped (counters of entries),
// samnav.outbox.batches (acknowledged Kafka writes),
// samnav.outbox.errors (failed writes, attribute retryable),
// samnav.outbox.lag (gauge, as Lag), samnav.outbox.stalled (gauge, seconds
// the first unacknowledged entry has been failing, 0 when the relay
// advances), samnav.outbox.publish.duration (one
// acknowledged write) and samnav.outbox.latency (Append to acknowledgement,
// of the oldest entry of each write).
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
)

// Entry is one Kafka record to publish.
type Entry struct {
	// Topic is the Kafka topic; required.
	Topic string
	// Key is the record's opaque id and its partitioning key; required.
	Key []byte
	// Value is the record value; nil is a tombstone (a Kafka null value),
	// while an empty non-nil slice is an empty value.
	Value []byte
	// Headers are sent as Kafka headers: an envelope.Envelope's Headers.
	Headers map[string]string
	// EventID is unique per change; consumers deduplicate by it. It is also
	// sent as header envelope.HeaderID unless Headers has one. Required.
	EventID string
}

// headerEventID is the CloudEvents id attribute as a Kafka header.
const headerEventID = envelope.HeaderID

// maxTopicLen is Kafka's limit on topic names.
const maxTopicLen = 249

func (e Entry) validate() error {
	var errs []error
	switch {
	case e.Topic == "":
		errs = append(errs, errors.New("topic: must not be empty"))
	case len(e.Topic) > maxTopicLen:
		errs = append(errs, fmt.Errorf("topic: must be at most %d characters, got %d", maxTopicLen, len(e.Topic)))
	case strings.Trim(e.Topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "":
		errs = append(errs, fmt.Errorf("topic: must contain only ASCII letters, digits, '.', '_' and '-', got %q", e.Topic))
	}
	if len(e.Key) == 0 {
		errs = append(errs, errors.New("key: must not be empty"))
	}
	if e.EventID == "" {
		errs = append(errs, errors.New("event id: must not be empty"))
	}
	for k := range e.Headers {
		if k == "" {
			errs = append(errs, errors.New("headers: a header name must not be empty"))
			break
		}
	}
	return errors.Join(errs...)
}

//go:embed migrations/*.sql
var migrations embed.FS

// rewritten are the checksums of the two per-dialect copies of version 1
// (SQLite first, PostgreSQL second) that releases before the one source
// applied: the one source makes the same tables, laid out and commented
// differently (sqldb.Migrations.Rewritten).
var rewritten = map[string]int{
	"2eb7971cdc2d46829f198e6cb9edb37d9821d429b6395a7458d7202ba1ef2a58": 1,
	"f806e201392606c4171d3d4b4081454baf7ed3db569b5199ad2df240f68a80f8": 1,
}

// lockKey is the PostgreSQL advisory lock that orders outbox writers
// (Append); every process using the outbox must agree on it.
const lockKey int64 = 0x6f7574626f78 // "outbox"

// Migrate creates or upgrades the outbox tables (outbox_entries,
// outbox_relays) through sqldb.Migrate, namespace "outbox"; tables made by
// a release before versioned migrations are adopted. It is idempotent and
// safe to run from several processes at once.
func Migrate(ctx context.Context, db *sql.DB, d sqldb.Dialect) error {
	if db == nil {
		return errors.New("migrate outbox: db: must not be nil")
	}
	if err := d.Valid(); err != nil {
		return fmt.Errorf("migrate outbox: %w", err)
	}
	return sqldb.Migrate(ctx, db, d, sqldb.Migrations{Namespace: "outbox", FS: migrations, Dir: "migrations", Adopt: sqldb.AdoptTable("outbox_entries"), Rewritten: rewritten})
}

// appendChunk is how many entries one INSERT statement carries.
const appendChunk = 100

// Append adds entries to the outbox inside the caller's transaction tx: they
// are published if and only if tx commits, in the order given, after every
// entry of every transaction that committed before. It validates every entry
// first and, if any is invalid, returns an error naming the entry, the field
// and the rule, and writes nothing.
//
// On PostgreSQL Append takes the outbox's transaction-level advisory lock,
// which serialises outbox writers until tx ends: call it as the last
// statement before Commit.
func Append(ctx context.Context, tx *sql.Tx, d sqldb.Dialect, entries ...Entry) error {
	if tx == nil {
		return errors.New("append to outbox: tx: must not be nil")
	}
	if err := d.Valid(); err != nil {
		return fmt.Errorf("append to outbox: %w", err)
	}
	var errs []error
	for i, e := range entries {
		if err := e.validate(); err != nil {
			errs = append(errs, fmt.Errorf("entry %d (event id %q): %w", i, e.EventID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("append to outbox: invalid entries: %w", errors.Join(errs...))
	}
	if len(entries) == 0 {
		return nil
	}
	if err := d.LockTx(ctx, tx, lockKey); err != nil {
		return fmt.Errorf("append to outbox: %w", err)
	}
	now := time.Now().UnixMicro()
	args := make([]any, 0, min(len(entries), appendChunk)*6)
	for start := 0; start < len(entries); start += appendChunk {
		chunk := entries[start:min(start+appendChunk, len(entries))]
		args = args[:0]
		for _, e := range chunk {
			headers, err := json.Marshal(e.Headers)
			if err != nil {
				return fmt.Errorf("append to outbox: encode headers of event %q: %w", e.EventID, err)
			}
			var value any // nil stays SQL NULL: a tombstone
			if e.Value != nil {
				value = e.Value
			}
			args = append(args, e.Topic, e.Key, value, string(headers), e.EventID, now)
		}
		if _, err := tx.ExecContext(ctx, insertQuery(d, len(chunk)), args...); err != nil {
			return fmt.Errorf("append to outbox: insert: %w", err)
		}
	}
	return nil
}

// insertQueries caches the INSERT of n entries per dialect.
var insertQueries [3][appendChunk + 1]atomic.Pointer[string]

// insertQuery returns the INSERT statement for n (1 to appendChunk)
// entries. SQLite gets anonymous ? parameters: it resolves each numbered
// $n by a linear search of the ones before it, which makes parsing a
// 600-parameter statement quadratic.
func insertQuery(d sqldb.Dialect, n int) string {
	slot := &insertQueries[d][n]
	if q := slot.Load(); q != nil {
		return *q
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO outbox_entries (topic, msg_key, msg_value, headers, event_id, created_at_us) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if d == sqldb.SQLite {
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			continue
		}
		k := i * 6
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6)
	}
	q := b.String()
	slot.Store(&q)
	return q
}

// ErrNotFound is returned by Skip when no unpublished entry has the id.
var ErrNotFound = errors.New("outbox: entry not found")

// Skip is the operator's way past a poison entry: it marks entry id as
// skipped, with the operator's name and reason, so that relays pass it
// (logging an audit line) instead of publishing it. Every relay name skips
// it. It is an explicit, audited loss of one change; use it only when the
// entry can never be published.
func Skip(ctx context.Context, db *sql.DB, d sqldb.Dialect, id int64, operator, reason string) error {
	var errs []error
	if db == nil {
		errs = append(errs, errors.New("db: must not be nil"))
	}
	if err := d.Valid(); err != nil {
		errs = append(errs, err)
	}
	if id <= 0 {
		errs = append(errs, fmt.Errorf("id: must be positive, got %d", id))
	}
	if strings.TrimSpace(operator) == "" {
		errs = append(errs, errors.New("operator: must not be empty"))
	}
	if strings.TrimSpace(reason) == "" {
		errs = append(errs, errors.New("reason: must not be empty"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("skip outbox entry: %w", errors.Join(errs...))
	}
	note := fmt.Sprintf("skipped by %s at %s: %s", operator, time.Now().UTC().Format(time.RFC3339), reason)
	n, err := sqldb.Affected(db.ExecContext(ctx, `UPDATE outbox_entries SET skipped_reason = $1 WHERE id = $2`, note, id))
	if err != nil {
		return fmt.Errorf("skip outbox entry %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("skip outbox entry %d: %w", id, ErrNotFound)
	}
	return nil
}
