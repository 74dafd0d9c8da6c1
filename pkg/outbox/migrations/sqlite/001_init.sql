-- The outbox: one row per Kafka record to publish, in commit order (id).
-- AUTOINCREMENT: ids are never reused, even after acknowledged rows are
-- deleted, so a relay's position always means the same entries.
CREATE TABLE IF NOT EXISTS outbox_entries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    topic          TEXT    NOT NULL,
    msg_key        BLOB    NOT NULL,
    msg_value      BLOB,                 -- NULL is a tombstone
    headers        TEXT    NOT NULL,     -- JSON object of string to string
    event_id       TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,     -- unix microseconds, for latency
    skipped_reason TEXT                  -- set only by Skip, an operator's action
);

-- One row per relay name: the lease (owner, expires_at_ms on the database's
-- clock) and the progress (position: every entry with id <= position is
-- acknowledged by Kafka or skipped by an operator).
CREATE TABLE IF NOT EXISTS outbox_relays (
    name          TEXT    PRIMARY KEY,
    owner         TEXT    NOT NULL DEFAULT '',
    expires_at_ms INTEGER NOT NULL DEFAULT 0,
    position      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT ''
);
