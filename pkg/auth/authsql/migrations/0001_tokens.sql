-- API tokens: only a hash of the secret is kept; times are Unix
-- milliseconds, 0 for none.
CREATE TABLE auth_tokens (
	id         TEXT PRIMARY KEY,
	subject    TEXT NOT NULL,
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL,
	grants     TEXT NOT NULL,
	hash       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL DEFAULT 0,
	revoked_at BIGINT NOT NULL DEFAULT 0
);
