-- md_reads is the read log: one row for each record of personal data shown
-- to a principal (record.Read). The person is named only by the record's
-- opaque id; fields is a JSON array of the attributes shown.
CREATE TABLE md_reads (
	seq              {{identity}},
	at               {{timestamp}} NOT NULL,
	subject          TEXT        NOT NULL,
	credential       TEXT        NOT NULL DEFAULT '',
	system           TEXT        NOT NULL DEFAULT '',
	basis            TEXT        NOT NULL,
	reason           TEXT        NOT NULL DEFAULT '',
	break_glass      INTEGER     NOT NULL DEFAULT 0,
	concept          TEXT        NOT NULL,
	record_id        TEXT        NOT NULL,
	fields           TEXT        NOT NULL,
	path             TEXT        NOT NULL
);
CREATE INDEX md_reads_record ON md_reads (concept, record_id, seq);
