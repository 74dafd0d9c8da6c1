-- A message's body is now what it is projected from at every send (the
-- event with the record's unprojected state), sealed with the keyring
-- (keyring.Seal): body_key_id names the key. A row with an empty
-- body_key_id was queued before this version and holds the projected
-- envelope it would have sent; it is projected again before each send too.
ALTER TABLE wh_messages ADD COLUMN body_key_id TEXT NOT NULL DEFAULT '';
-- The newest message of a record, whatever its state, carries the record's
-- latest state (its protection marker) that every send of an older one
-- takes into account.
CREATE INDEX wh_messages_newest ON wh_messages (subscription_id, record_key, id);
