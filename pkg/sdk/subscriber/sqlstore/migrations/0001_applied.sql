-- Which events a consumer group has applied (SQLStore).
CREATE TABLE subscriber_applied (
	group_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	record_time BIGINT NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (group_id, event_id)
);
CREATE INDEX subscriber_applied_time ON subscriber_applied (group_id, record_time);
CREATE INDEX subscriber_applied_pruned ON subscriber_applied (group_id, applied_at);
