-- A subscriber system reads under one approved subscription (basis
-- "subscription"): the read log names it, '' for every other basis.
ALTER TABLE md_reads ADD COLUMN subscription TEXT NOT NULL DEFAULT '';
