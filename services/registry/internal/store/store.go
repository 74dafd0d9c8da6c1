// Package store defines what the schema registry keeps durably and the
// contract every backend (internal/store/sqlstore on SQLite or PostgreSQL)
// must keep. The conformance suite in internal/store/storetest checks that
// contract against each backend.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned (wrapped) when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) when an insert would break a uniqueness
// rule: a schema id or fingerprint already stored, or a subject version that
// already exists.
var ErrConflict = errors.New("conflict")

// Schema is one registered schema. A schema row is immutable once stored and
// is never deleted: its id stays bound to its text forever, so an id is
// never reused, even after every version that used it has been hard-deleted.
type Schema struct {
	ID          int
	Type        string // "AVRO"
	Text        string
	References  []Reference
	Fingerprint string // identity of (type, text, references); unique
}

// Reference names another subject version whose named types a schema uses.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Version binds a schema to a subject under a version number.
type Version struct {
	Subject  string
	Version  int
	SchemaID int
	Deleted  bool // soft-deleted
}

// Reader is the read side of a store. Every method is safe for concurrent
// use.
type Reader interface {
	// Subjects lists, in ascending order, the subjects with at least one
	// version that is not soft-deleted, or with any version at all when
	// includeDeleted is true.
	Subjects(ctx context.Context, includeDeleted bool) ([]string, error)
	// Versions lists every version of subject, soft-deleted ones included,
	// in ascending version order; an unknown subject gives an empty list.
	Versions(ctx context.Context, subject string) ([]Version, error)
	// SchemaByID returns the schema with id, or ErrNotFound.
	SchemaByID(ctx context.Context, id int) (Schema, error)
	// SchemaByFingerprint returns the schema with fingerprint, or
	// ErrNotFound.
	SchemaByFingerprint(ctx context.Context, fingerprint string) (Schema, error)
	// VersionsBySchemaID lists every subject version (soft-deleted ones
	// included) bound to schema id, ordered by subject then version.
	VersionsBySchemaID(ctx context.Context, id int) ([]Version, error)
	// Config returns the compatibility level set for subject, or for the
	// whole registry when subject is "", or ErrNotFound when none is set.
	Config(ctx context.Context, subject string) (string, error)
	// Mode returns the mode set for subject ("" for the registry), or
	// ErrNotFound when none is set.
	Mode(ctx context.Context, subject string) (string, error)
}

// Tx is one write transaction. It reads its own writes. It is not safe for
// concurrent use and is valid only inside the Update call that made it.
type Tx interface {
	Reader
	// InsertSchema stores s and returns its id. When s.ID is 0 the store
	// allocates the next id: one higher than any id it has ever handed out
	// or been given, so ids are never reused. When s.ID is set (import),
	// that id is used. ErrConflict when the id or fingerprint is taken.
	InsertSchema(ctx context.Context, s Schema) (int, error)
	// InsertVersion binds a schema to a subject version. ErrConflict when
	// that subject version exists (soft-deleted or not).
	InsertVersion(ctx context.Context, v Version) error
	// SoftDeleteVersion marks a subject version soft-deleted; ErrNotFound
	// when it does not exist.
	SoftDeleteVersion(ctx context.Context, subject string, version int) error
	// HardDeleteVersion removes a subject version; ErrNotFound when it does
	// not exist. The schema row stays (see Schema).
	HardDeleteVersion(ctx context.Context, subject string, version int) error
	// SetConfig sets the compatibility level of subject ("" = registry).
	SetConfig(ctx context.Context, subject, level string) error
	// DeleteConfig removes the level set for subject ("" = registry); no
	// error when none was set.
	DeleteConfig(ctx context.Context, subject string) error
	// SetMode sets the mode of subject ("" = registry).
	SetMode(ctx context.Context, subject, mode string) error
	// DeleteMode removes the mode set for subject; no error when none was.
	DeleteMode(ctx context.Context, subject string) error
}

// Store is a durable registry store. It is safe for concurrent use, also by
// several processes sharing one database (replicas on PostgreSQL): Update
// calls are serialised across all of them.
type Store interface {
	Reader
	// Update runs fn in one transaction holding the store's write lock, so
	// no other Update, in this process or another, interleaves with it. The
	// transaction commits when fn returns nil and rolls back otherwise; fn's
	// error is returned unchanged (unwrapped) so callers can match it.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. Calls after Close fail.
	Close() error
}
