-- feed_log rows of one record of one subscription, in position order: when
-- a record becomes a protected identity, storing its shielded entry
-- withholds the same fields from every earlier entry of the record (see
-- SQLStore.withhold), which reads them through this index.
CREATE INDEX feed_log_key ON feed_log (subscription_id, record_key, position);
