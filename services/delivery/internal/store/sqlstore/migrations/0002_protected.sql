-- Protection that follows references: which records of a referenced
-- concept (person) are protected identities, kept from the concept's state
-- topic, and which referenced concepts had a record become protected since
-- the records referring to them were last delivered again.
CREATE TABLE delivery_protected_records (
	concept TEXT NOT NULL,
	id      TEXT NOT NULL,
	PRIMARY KEY (concept, id)
);
CREATE TABLE delivery_protected_pending (
	concept TEXT PRIMARY KEY,
	seq     BIGINT NOT NULL
);
