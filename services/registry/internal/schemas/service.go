// Package schemas is the schema registry's domain: subjects, versions, ids,
// compatibility levels and modes, with the rules Confluent's Schema
// Registry applies to them. It speaks no HTTP; internal/transport/rest maps
// it onto the Confluent REST API.
package schemas

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/services/registry/internal/store"
)

// TypeAvro is the one schema type this registry supports.
const TypeAvro = "AVRO"

// Reference is a schema reference as the API carries it.
type Reference = store.Reference

// SubjectSchema is one version of a subject.
type SubjectSchema struct {
	Subject    string
	Version    int
	ID         int
	Type       string
	Schema     string
	References []Reference
}

// SchemaInfo is a schema looked up by id.
type SchemaInfo struct {
	ID         int
	Type       string
	Schema     string
	References []Reference
}

// SubjectVersion names one version of one subject.
type SubjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// SchemaRequest is a schema as a client submits it for registration,
// lookup or a compatibility check. ID and Version are honoured only by
// Register in IMPORT mode.
type SchemaRequest struct {
	Schema     string
	SchemaType string
	References []Reference
	ID         int
	Version    int
}

// Service is the registry. Every method is safe for concurrent use. Errors
// the caller should see are *Error (see AsError); anything else is a
// backend failure.
type Service interface {
	Subjects(ctx context.Context, includeDeleted bool) ([]string, error)
	Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error)
	// SubjectVersion returns a version; version is a number or "latest"
	// (also "-1"), as in the URL.
	SubjectVersion(ctx context.Context, subject, version string, includeDeleted bool) (SubjectSchema, error)
	// Register registers a schema under subject and returns its id. It is
	// idempotent: a schema already live in the subject returns its id.
	Register(ctx context.Context, subject string, req SchemaRequest) (int, error)
	Lookup(ctx context.Context, subject string, req SchemaRequest, includeDeleted bool) (SubjectSchema, error)
	SchemaByID(ctx context.Context, id int) (SchemaInfo, error)
	SubjectsByID(ctx context.Context, id int, includeDeleted bool) ([]string, error)
	VersionsByID(ctx context.Context, id int, includeDeleted bool) ([]SubjectVersion, error)
	Types() []string
	// CheckCompatibility checks req against one version of subject, or,
	// when version is "", against the versions the subject's level names.
	// The messages explain each incompatibility.
	CheckCompatibility(ctx context.Context, subject, version string, req SchemaRequest) (bool, []string, error)
	// Config returns the level of subject ("" = the registry's).
	Config(ctx context.Context, subject string, defaultToGlobal bool) (compat.Level, error)
	SetConfig(ctx context.Context, subject, level string) (compat.Level, error)
	// DeleteConfig removes subject's level (the registry's: back to the
	// default) and returns the level it had.
	DeleteConfig(ctx context.Context, subject string) (compat.Level, error)
	Mode(ctx context.Context, subject string, defaultToGlobal bool) (Mode, error)
	SetMode(ctx context.Context, subject, mode string, force bool) (Mode, error)
	DeleteMode(ctx context.Context, subject string) (Mode, error)
	// DeleteSubject soft-deletes every live version, or, with permanent,
	// removes every version of a subject already soft-deleted; it returns
	// the versions deleted.
	DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error)
	DeleteVersion(ctx context.Context, subject, version string, permanent bool) (int, error)
}

type service struct {
	store        store.Store
	defaultLevel compat.Level

	mu     sync.RWMutex
	parsed map[int]*avro.Schema // schema rows are immutable, so this never goes stale
	rows   map[int]store.Schema
}

// New returns a Service over st. defaultLevel is used where neither the
// subject nor the registry has a level set; "" means compat.Default.
func New(st store.Store, defaultLevel compat.Level) Service {
	if defaultLevel == "" {
		defaultLevel = compat.Default
	}
	return &service{store: st, defaultLevel: defaultLevel, parsed: map[int]*avro.Schema{}, rows: map[int]store.Schema{}}
}

// latestVersion is what "latest" and "-1" parse to.
const latestVersion = -1

// parseVersion parses a version from a URL: 1..2^31-1 or "latest"/"-1".
func parseVersion(s string) (int, error) {
	if s == "latest" || s == "-1" {
		return latestVersion, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > math.MaxInt32 {
		return 0, errorf(CodeInvalidVersion, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", s)
	}
	return n, nil
}

func visible(vs []store.Version, includeDeleted bool) []store.Version {
	out := make([]store.Version, 0, len(vs))
	for _, v := range vs {
		if includeDeleted || !v.Deleted {
			out = append(out, v)
		}
	}
	return out
}

// subjectVersions returns subject's versions in r, the deleted ones too
// when includeDeleted; it fails with subject-not-found when there are none.
func subjectVersions(ctx context.Context, r store.Reader, subject string, includeDeleted bool) ([]store.Version, error) {
	all, err := r.Versions(ctx, subject)
	if err != nil {
		return nil, backend("list versions", err)
	}
	vs := visible(all, includeDeleted)
	if len(vs) == 0 {
		return nil, subjectNotFound(subject)
	}
	return vs, nil
}

func (s *service) Subjects(ctx context.Context, includeDeleted bool) ([]string, error) {
	subs, err := s.store.Subjects(ctx, includeDeleted)
	if err != nil {
		return nil, backend("list subjects", err)
	}
	return subs, nil
}

func (s *service) Versions(ctx context.Context, subject string, includeDeleted bool) ([]int, error) {
	vs, err := subjectVersions(ctx, s.store, subject, includeDeleted)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out, nil
}

func (s *service) SubjectVersion(ctx context.Context, subject, version string, includeDeleted bool) (SubjectSchema, error) {
	n, err := parseVersion(version)
	if err != nil {
		return SubjectSchema{}, err
	}
	vs, err := subjectVersions(ctx, s.store, subject, includeDeleted)
	if err != nil {
		return SubjectSchema{}, err
	}
	v, ok := pick(vs, n)
	if !ok {
		return SubjectSchema{}, versionNotFound(n)
	}
	return s.subjectSchema(ctx, s.store, v)
}

func pick(vs []store.Version, n int) (store.Version, bool) {
	if len(vs) == 0 {
		return store.Version{}, false
	}
	if n == latestVersion {
		return vs[len(vs)-1], true
	}
	for _, v := range vs {
		if v.Version == n {
			return v, true
		}
	}
	return store.Version{}, false
}

func (s *service) subjectSchema(ctx context.Context, r store.Reader, v store.Version) (SubjectSchema, error) {
	row, err := s.row(ctx, r, v.SchemaID)
	if err != nil {
		return SubjectSchema{}, err
	}
	return SubjectSchema{Subject: v.Subject, Version: v.Version, ID: row.ID, Type: row.Type, Schema: row.Text, References: row.References}, nil
}

// row returns a schema row, cached: rows never change once written.
func (s *service) row(ctx context.Context, r store.Reader, id int) (store.Schema, error) {
	s.mu.RLock()
	row, ok := s.rows[id]
	s.mu.RUnlock()
	if ok {
		return row, nil
	}
	row, err := r.SchemaByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Schema{}, schemaNotFound(id)
	}
	if err != nil {
		return store.Schema{}, backend("get schema", err)
	}
	s.mu.Lock()
	s.rows[id] = row
	s.mu.Unlock()
	return row, nil
}

func (s *service) parsedSchema(ctx context.Context, r store.Reader, id int) (*avro.Schema, error) {
	s.mu.RLock()
	p, ok := s.parsed[id]
	s.mu.RUnlock()
	if ok {
		return p, nil
	}
	row, err := s.row(ctx, r, id)
	if err != nil {
		return nil, err
	}
	p, err = avro.Parse(row.Text)
	if err != nil {
		return nil, backend("parse stored schema", fmt.Errorf("schema %d: %w", id, err))
	}
	s.mu.Lock()
	s.parsed[id] = p
	s.mu.Unlock()
	return p, nil
}

// candidate is a validated SchemaRequest.
type candidate struct {
	text        string // compact JSON
	typ         string
	refs        []Reference
	fingerprint string
	parsed      *avro.Schema
}

// prepare validates a submitted schema. The identity (fingerprint) of a
// schema is the SHA-256 of its type, its JSON text with insignificant
// whitespace removed, and its references. It is deliberately not the Avro
// Parsing Canonical Form: that drops defaults, aliases and docs, and two
// schemas differing in a default read data differently, so they must be
// two versions with two ids, as in Confluent.
func (s *service) prepare(ctx context.Context, r store.Reader, req SchemaRequest) (candidate, error) {
	typ := strings.ToUpper(req.SchemaType)
	if typ == "" {
		typ = TypeAvro
	}
	if typ != TypeAvro {
		return candidate{}, errorf(CodeInvalidSchema, "Invalid schemaType %q: this registry supports only AVRO", req.SchemaType)
	}
	if strings.TrimSpace(req.Schema) == "" {
		return candidate{}, errorf(CodeInvalidSchema, "Invalid schema: field \"schema\" is required and must not be empty")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(req.Schema)); err != nil {
		return candidate{}, errorf(CodeInvalidSchema, "Invalid schema: field \"schema\" is not JSON: %v", err)
	}
	refs := req.References
	if refs == nil {
		refs = []Reference{}
	}
	for i, ref := range refs {
		if ref.Name == "" || ref.Subject == "" || ref.Version < 1 {
			return candidate{}, errorf(CodeInvalidSchema, "Invalid schema: references[%d] needs a non-empty name and subject and a version >= 1", i)
		}
		vs, err := r.Versions(ctx, ref.Subject)
		if err != nil {
			return candidate{}, backend("resolve reference", err)
		}
		if _, ok := pick(visible(vs, false), ref.Version); !ok {
			return candidate{}, errorf(CodeInvalidSchema, "Invalid schema: references[%d] names subject '%s' version %d, which does not exist", i, ref.Subject, ref.Version)
		}
	}
	parsed, err := avro.Parse(compact.String())
	if err != nil {
		msg := fmt.Sprintf("Invalid schema %s, details: %v", compact.String(), err)
		if len(refs) > 0 {
			msg += " (references are stored, but named types from referenced schemas are not yet resolved when parsing)"
		}
		return candidate{}, &Error{Code: CodeInvalidSchema, Message: msg}
	}
	refsJSON, _ := json.Marshal(refs) // a slice of plain structs cannot fail to encode
	sum := sha256.Sum256([]byte(typ + "\n" + compact.String() + "\n" + string(refsJSON)))
	return candidate{text: compact.String(), typ: typ, refs: refs, fingerprint: hex.EncodeToString(sum[:]), parsed: parsed}, nil
}

// check runs the compatibility check of c against the live versions vs
// (oldest first) under level.
func (s *service) check(ctx context.Context, r store.Reader, level compat.Level, c candidate, vs []store.Version) ([]string, error) {
	existing := make([]*avro.Schema, 0, len(vs))
	for _, v := range vs {
		p, err := s.parsedSchema(ctx, r, v.SchemaID)
		if err != nil {
			return nil, err
		}
		existing = append(existing, p)
	}
	return Check(level, c.parsed, existing), nil
}

func (s *service) Register(ctx context.Context, subject string, req SchemaRequest) (int, error) {
	if subject == "" {
		return 0, errorf(CodeBadRequest, "subject must not be empty")
	}
	var id int
	err := s.store.Update(ctx, func(tx store.Tx) error {
		mode, err := s.writable(ctx, tx, subject)
		if err != nil {
			return err
		}
		importing := mode == Import
		if (req.ID != 0 || req.Version != 0) && !importing {
			return errorf(CodeOperationNotPermitted, "Registering with a given id or version is only permitted when subject '%s' is in IMPORT mode", subject)
		}
		if req.ID < 0 || req.Version < 0 {
			return errorf(CodeInvalidSchema, "Invalid schema: id and version must be positive when given")
		}
		c, err := s.prepare(ctx, tx, req)
		if err != nil {
			return err
		}
		all, err := tx.Versions(ctx, subject)
		if err != nil {
			return backend("list versions", err)
		}
		live := visible(all, false)
		existing, err := tx.SchemaByFingerprint(ctx, c.fingerprint)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return backend("find schema", err)
		}
		if found && req.ID != 0 && req.ID != existing.ID {
			return errorf(CodeOperationNotPermitted, "Schema is already registered with id %d, not %d", existing.ID, req.ID)
		}
		if found {
			for _, v := range live {
				if v.SchemaID == existing.ID && (req.Version == 0 || req.Version == v.Version) {
					id = existing.ID
					return nil // already registered: idempotent
				}
			}
		}
		if !importing {
			level, err := s.level(ctx, tx, subject)
			if err != nil {
				return err
			}
			msgs, err := s.check(ctx, tx, level, c, live)
			if err != nil {
				return err
			}
			if len(msgs) > 0 {
				return errorf(CodeIncompatible, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]", subject, strings.Join(msgs, "; "))
			}
		}
		if found {
			id = existing.ID
		} else {
			if req.ID != 0 {
				if _, err := tx.SchemaByID(ctx, req.ID); err == nil {
					return errorf(CodeOperationNotPermitted, "Schema id %d is already used by a different schema", req.ID)
				}
			}
			id, err = tx.InsertSchema(ctx, store.Schema{ID: req.ID, Type: c.typ, Text: c.text, References: c.refs, Fingerprint: c.fingerprint})
			if err != nil {
				return backend("insert schema", err)
			}
		}
		version := req.Version
		if version == 0 {
			version = 1
			if len(all) > 0 {
				version = all[len(all)-1].Version + 1
			}
		} else if _, ok := pick(all, version); ok {
			return errorf(CodeOperationNotPermitted, "Version %d of subject '%s' already exists with a different schema", version, subject)
		}
		if err := tx.InsertVersion(ctx, store.Version{Subject: subject, Version: version, SchemaID: id}); err != nil {
			return backend("insert version", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

func (s *service) Lookup(ctx context.Context, subject string, req SchemaRequest, includeDeleted bool) (SubjectSchema, error) {
	vs, err := subjectVersions(ctx, s.store, subject, includeDeleted)
	if err != nil {
		return SubjectSchema{}, err
	}
	c, err := s.prepare(ctx, s.store, req)
	if err != nil {
		return SubjectSchema{}, err
	}
	row, err := s.store.SchemaByFingerprint(ctx, c.fingerprint)
	if errors.Is(err, store.ErrNotFound) {
		return SubjectSchema{}, errorf(CodeSchemaNotFound, "Schema not found")
	}
	if err != nil {
		return SubjectSchema{}, backend("find schema", err)
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].SchemaID == row.ID {
			return SubjectSchema{Subject: subject, Version: vs[i].Version, ID: row.ID, Type: row.Type, Schema: row.Text, References: row.References}, nil
		}
	}
	return SubjectSchema{}, errorf(CodeSchemaNotFound, "Schema not found")
}

// uses returns the subject versions bound to id, failing with 40403 when
// there are none: an id whose every version was hard-deleted is gone for
// readers, though never reused.
func (s *service) uses(ctx context.Context, id int) ([]store.Version, error) {
	vs, err := s.store.VersionsBySchemaID(ctx, id)
	if err != nil {
		return nil, backend("list schema versions", err)
	}
	if len(vs) == 0 {
		return nil, schemaNotFound(id)
	}
	return vs, nil
}

func (s *service) SchemaByID(ctx context.Context, id int) (SchemaInfo, error) {
	if _, err := s.uses(ctx, id); err != nil {
		return SchemaInfo{}, err
	}
	row, err := s.row(ctx, s.store, id)
	if err != nil {
		return SchemaInfo{}, err
	}
	return SchemaInfo{ID: row.ID, Type: row.Type, Schema: row.Text, References: row.References}, nil
}

// SubjectsByID is the subjects of VersionsByID, each once (a schema's
// uses come ordered by subject).
func (s *service) SubjectsByID(ctx context.Context, id int, includeDeleted bool) ([]string, error) {
	vs, err := s.VersionsByID(ctx, id, includeDeleted)
	if err != nil {
		return nil, err
	}
	subjects := make([]string, len(vs))
	for i, v := range vs {
		subjects[i] = v.Subject
	}
	return slices.Compact(subjects), nil
}

func (s *service) VersionsByID(ctx context.Context, id int, includeDeleted bool) ([]SubjectVersion, error) {
	vs, err := s.uses(ctx, id)
	if err != nil {
		return nil, err
	}
	out := []SubjectVersion{}
	for _, v := range visible(vs, includeDeleted) {
		out = append(out, SubjectVersion{Subject: v.Subject, Version: v.Version})
	}
	return out, nil
}

func (s *service) Types() []string { return []string{TypeAvro} }

func (s *service) CheckCompatibility(ctx context.Context, subject, version string, req SchemaRequest) (bool, []string, error) {
	n := 0
	if version != "" {
		var err error
		if n, err = parseVersion(version); err != nil {
			return false, nil, err
		}
	}
	all, err := s.store.Versions(ctx, subject)
	if err != nil {
		return false, nil, backend("list versions", err)
	}
	live := visible(all, false)
	if version != "" {
		if len(live) == 0 {
			return false, nil, subjectNotFound(subject)
		}
		v, ok := pick(live, n)
		if !ok {
			return false, nil, versionNotFound(n)
		}
		live = []store.Version{v}
	}
	c, err := s.prepare(ctx, s.store, req)
	if err != nil {
		return false, nil, err
	}
	level, err := s.level(ctx, s.store, subject)
	if err != nil {
		return false, nil, err
	}
	msgs, err := s.check(ctx, s.store, level, c, live)
	if err != nil {
		return false, nil, err
	}
	if msgs == nil {
		msgs = []string{}
	}
	return len(msgs) == 0, msgs, nil
}
