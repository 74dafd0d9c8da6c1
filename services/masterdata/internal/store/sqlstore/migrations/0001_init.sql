CREATE TABLE md_records (
	concept    TEXT        NOT NULL,
	id         TEXT        NOT NULL,
	revision   BIGINT      NOT NULL,
	state      {{json}},
	ended_at   {{timestamp}},
	end_reason TEXT        NOT NULL DEFAULT '',
	created_at {{timestamp}} NOT NULL,
	updated_at {{timestamp}} NOT NULL,
	PRIMARY KEY (concept, id)
);
CREATE TABLE md_natural_keys (
	concept   TEXT NOT NULL,
	attribute TEXT NOT NULL,
	value     TEXT NOT NULL,
	id        TEXT NOT NULL,
	PRIMARY KEY (concept, attribute, value)
);
CREATE INDEX md_natural_keys_record ON md_natural_keys (concept, id);
CREATE TABLE md_changes (
	seq              {{serial}},
	concept          TEXT        NOT NULL,
	record_id        TEXT        NOT NULL,
	revision         BIGINT      NOT NULL,
	kind             TEXT        NOT NULL,
	at               {{timestamp}} NOT NULL,
	actor_subject    TEXT        NOT NULL,
	actor_credential TEXT        NOT NULL DEFAULT '',
	actor_system     TEXT        NOT NULL,
	reason           TEXT        NOT NULL DEFAULT '',
	event_id         TEXT        NOT NULL,
	trace_parent     TEXT        NOT NULL DEFAULT '',
	state            {{json}}
);
CREATE INDEX md_changes_record ON md_changes (concept, record_id, seq);
