CREATE TABLE wh_endpoints (
	subscription_id      TEXT PRIMARY KEY,
	url                  TEXT NOT NULL,
	owner                TEXT NOT NULL,
	status               TEXT NOT NULL,
	disabled_reason      TEXT NOT NULL DEFAULT '',
	disabled_at          BIGINT NOT NULL DEFAULT 0,
	failing_since        BIGINT NOT NULL DEFAULT 0,
	consecutive_failures INTEGER NOT NULL DEFAULT 0,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);
CREATE TABLE wh_secrets (
	id              {{serial}},
	subscription_id TEXT NOT NULL REFERENCES wh_endpoints (subscription_id) ON DELETE CASCADE,
	secret          TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wh_secrets_endpoint ON wh_secrets (subscription_id);
CREATE TABLE wh_messages (
	id              {{serial}},
	subscription_id TEXT NOT NULL REFERENCES wh_endpoints (subscription_id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL,
	record_key      TEXT NOT NULL,
	event_type      TEXT NOT NULL,
	body            {{blob}} NOT NULL,
	trace           TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	step            INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	manual          INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	lease_token     TEXT NOT NULL DEFAULT '',
	lease_until     BIGINT NOT NULL DEFAULT 0,
	UNIQUE (subscription_id, event_id)
);
CREATE INDEX wh_messages_key ON wh_messages (subscription_id, record_key, id) WHERE state = 'pending';
CREATE INDEX wh_messages_due ON wh_messages (next_attempt_at) WHERE state = 'pending';
CREATE TABLE wh_attempts (
	id              {{serial}},
	message_id      BIGINT NOT NULL,
	subscription_id TEXT NOT NULL,
	event_id        TEXT NOT NULL,
	n               INTEGER NOT NULL,
	trigger_kind    TEXT NOT NULL,
	at              BIGINT NOT NULL,
	status_code     INTEGER NOT NULL,
	latency_ns      BIGINT NOT NULL,
	error           TEXT NOT NULL,
	response        TEXT NOT NULL
);
CREATE INDEX wh_attempts_endpoint ON wh_attempts (subscription_id, id);
CREATE INDEX wh_attempts_message ON wh_attempts (message_id, id);
