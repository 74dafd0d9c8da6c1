-- Subscriptions, each a JSON document beside the columns it is selected
-- by, and their append-only history.
CREATE TABLE delivery_subscriptions (
	id      TEXT PRIMARY KEY,
	system  TEXT NOT NULL,
	concept TEXT NOT NULL,
	status  TEXT NOT NULL,
	version BIGINT NOT NULL,
	body    TEXT NOT NULL
);
CREATE INDEX delivery_subscriptions_system ON delivery_subscriptions (system, concept);
CREATE TABLE delivery_subscription_history (
	subscription_id TEXT NOT NULL REFERENCES delivery_subscriptions (id),
	seq             BIGINT NOT NULL,
	body            TEXT NOT NULL,
	PRIMARY KEY (subscription_id, seq)
);
