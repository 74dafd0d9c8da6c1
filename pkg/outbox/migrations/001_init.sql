-- The outbox: one row per Kafka record to publish, in commit order (id).
-- The id is never reused, even after acknowledged rows are deleted, so a
-- relay's position always means the same entries. On PostgreSQL, Append
-- takes a transaction-level advisory lock before it draws ids, so id order
-- is commit order (see the package documentation).
CREATE TABLE IF NOT EXISTS outbox_entries (
    id             {{identity}},
    topic          TEXT   NOT NULL,
    msg_key        {{blob}} NOT NULL,
    msg_value      {{blob}},             -- NULL is a tombstone
    headers        TEXT   NOT NULL,      -- JSON object of string to string
    event_id       TEXT   NOT NULL,
    created_at_us  BIGINT NOT NULL,      -- unix microseconds, for latency
    skipped_reason TEXT                  -- set only by Skip, an operator's action
);

-- One row per relay name: the lease (owner, expires_at_ms on the database's
-- clock) and the progress (position: every entry with id <= position is
-- acknowledged by Kafka or skipped by an operator).
CREATE TABLE IF NOT EXISTS outbox_relays (
    name          TEXT   PRIMARY KEY,
    owner         TEXT   NOT NULL DEFAULT '',
    expires_at_ms BIGINT NOT NULL DEFAULT 0,
    position      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT   NOT NULL DEFAULT ''
);
