-- feed_heads: a subscription's newest position; feed_log: the change log;
-- feed_state: the current state per record; feed_shapes: what each view
-- was built for. stored_at is when an entry was stored, Unix microseconds
-- (0 for entries stored before releases recorded it).
CREATE TABLE feed_heads (
	subscription_id TEXT PRIMARY KEY,
	position BIGINT NOT NULL
);
CREATE TABLE feed_log (
	subscription_id TEXT NOT NULL,
	position BIGINT NOT NULL,
	concept TEXT NOT NULL,
	record_key TEXT NOT NULL,
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	event_time TEXT NOT NULL,
	revision BIGINT NOT NULL,
	ended_at TEXT,
	state TEXT,
	trace TEXT NOT NULL,
	stored_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (subscription_id, position)
);
CREATE UNIQUE INDEX feed_log_event ON feed_log (subscription_id, event_id);
CREATE INDEX feed_log_stored ON feed_log (stored_at);
CREATE TABLE feed_state (
	subscription_id TEXT NOT NULL,
	record_key TEXT NOT NULL,
	position BIGINT NOT NULL,
	concept TEXT NOT NULL,
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	event_time TEXT NOT NULL,
	revision BIGINT NOT NULL,
	ended_at TEXT,
	state TEXT,
	trace TEXT NOT NULL,
	PRIMARY KEY (subscription_id, record_key)
);
CREATE TABLE feed_shapes (
	subscription_id TEXT PRIMARY KEY,
	shape TEXT NOT NULL
);
