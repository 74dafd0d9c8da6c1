-- Token lifecycle: when each token was last used (written at most once a
-- minute per token), and who issued, rotated or revoked it, and why.
ALTER TABLE auth_tokens ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE auth_token_events (
	id       {{serial}},
	token_id TEXT NOT NULL,
	at       BIGINT NOT NULL,
	action   TEXT NOT NULL,
	actor    TEXT NOT NULL,
	reason   TEXT NOT NULL,
	related  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_token_events_token ON auth_token_events (token_id, id);
