-- Re-publishes of view records after the compaction lag (kafkaview,
-- "a quiet view"): one row per subscription and record key whose view
-- record withheld fields (a protected identity) or erased the record.
-- written_at is when the first such record still to re-publish was
-- written (Unix milliseconds), due_at when the re-publish is due. The
-- row holds no record data: the re-publish re-reads the key's current
-- record from the view topic.
CREATE TABLE delivery_view_republish (
	subscription_id TEXT NOT NULL,
	record_key      TEXT NOT NULL,
	written_at      BIGINT NOT NULL,
	due_at          BIGINT NOT NULL,
	PRIMARY KEY (subscription_id, record_key)
);
CREATE INDEX delivery_view_republish_due ON delivery_view_republish (due_at);
