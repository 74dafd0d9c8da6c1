-- Schemas are immutable and never deleted: an id stays bound to its text.
CREATE TABLE schemas (
    id          BIGINT  PRIMARY KEY,
    schema_type TEXT    NOT NULL,
    schema_text TEXT    NOT NULL,
    refs        TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL UNIQUE
);

CREATE TABLE subject_versions (
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    schema_id BIGINT  NOT NULL REFERENCES schemas (id),
    deleted   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (subject, version)
);

CREATE INDEX subject_versions_schema_id ON subject_versions (schema_id);

-- subject '' holds the registry-wide setting.
CREATE TABLE configs (
    subject TEXT PRIMARY KEY,
    level   TEXT NOT NULL
);

CREATE TABLE modes (
    subject TEXT PRIMARY KEY,
    mode    TEXT NOT NULL
);

-- The next id to hand out; only ever grows, so ids are never reused.
CREATE TABLE id_counter (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    next_id   BIGINT  NOT NULL
);

INSERT INTO id_counter (singleton, next_id) VALUES (1, 1);
