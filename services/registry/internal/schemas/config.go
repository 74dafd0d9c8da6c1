// Compatibility levels and write modes, per subject and global.

package schemas

import (
	"context"
	"errors"
	"strings"

	"github.com/samnav/samnav/contracts/compat"
	"github.com/samnav/samnav/services/registry/internal/store"
)

// Mode is a subject's or the registry's write mode.
type Mode string

// Modes. Import lets a schema be registered with a given id and version,
// skipping compatibility checks, to copy another registry's contents.
const (
	ReadWrite Mode = "READWRITE"
	ReadOnly  Mode = "READONLY"
	Import    Mode = "IMPORT"
)

// ParseMode parses a mode name, case-insensitively.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToUpper(strings.TrimSpace(s))); m {
	case ReadWrite, ReadOnly, Import:
		return m, nil
	}
	return "", errorf(CodeInvalidMode, "Invalid mode %q. Valid values are READWRITE, READONLY and IMPORT", s)
}

// A setting is a per-subject value with a registry-wide fallback: the
// compatibility level or the write mode. Both are looked up, reported and
// deleted by the same rules, which live here once.
type setting[T ~string] struct {
	what     string // "config" or "mode", as backend errors name it
	notSet   int    // the error code when a subject has no value of its own
	notSetF  string // its message, formatted with the subject
	fallback T      // when neither the subject nor the registry has a value
	get      func(store.Reader, context.Context, string) (string, error)
	set      func(store.Tx, context.Context, string, string) error
	del      func(store.Tx, context.Context, string) error
}

func (s *service) levels() setting[compat.Level] {
	return setting[compat.Level]{
		what: "config", notSet: CodeSubjectConfigNotSet,
		notSetF:  "Subject '%s' does not have subject-level compatibility configured",
		fallback: s.defaultLevel,
		get:      store.Reader.Config, set: store.Tx.SetConfig, del: store.Tx.DeleteConfig,
	}
}

func modes() setting[Mode] {
	return setting[Mode]{
		what: "mode", notSet: CodeSubjectModeNotSet,
		notSetF:  "Subject '%s' does not have subject-level mode configured",
		fallback: ReadWrite,
		get:      store.Reader.Mode, set: store.Tx.SetMode, del: store.Tx.DeleteMode,
	}
}

// effective returns subject's value, else the registry's, else the
// fallback.
func (st setting[T]) effective(ctx context.Context, r store.Reader, subject string) (T, error) {
	for _, sub := range []string{subject, ""} {
		v, err := st.get(r, ctx, sub)
		if err == nil {
			return T(v), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", backend("get "+st.what, err)
		}
	}
	return st.fallback, nil
}

// read returns subject's own value ("" is the registry's effective one).
// When subject has none, it returns the registry's if defaultToGlobal,
// else the not-set error.
func (st setting[T]) read(ctx context.Context, r store.Reader, subject string, defaultToGlobal bool) (T, error) {
	if subject != "" {
		v, err := st.get(r, ctx, subject)
		if err == nil {
			return T(v), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", backend("get "+st.what, err)
		}
		if !defaultToGlobal {
			return "", errorf(st.notSet, st.notSetF, subject)
		}
	}
	return st.effective(ctx, r, "")
}

// remove deletes subject's own value in tx and returns what it was (the
// fallback for a registry with none set). A subject with none is the
// not-set error.
func (st setting[T]) remove(ctx context.Context, tx store.Tx, subject string) (T, error) {
	var old T
	v, err := st.get(tx, ctx, subject)
	switch {
	case err == nil:
		old = T(v)
	case !errors.Is(err, store.ErrNotFound):
		return old, backend("get "+st.what, err)
	case subject == "":
		old = st.fallback
	default:
		return old, errorf(st.notSet, st.notSetF, subject)
	}
	if err := st.del(tx, ctx, subject); err != nil {
		return old, backend("delete "+st.what, err)
	}
	return old, nil
}

// put sets subject's own value ("" the registry's) to v in one
// transaction of db, once guard (when not nil) has accepted it in that
// transaction, and returns v.
func (st setting[T]) put(ctx context.Context, db store.Store, subject string, v T, guard func(store.Tx) error) (T, error) {
	err := db.Update(ctx, func(tx store.Tx) error {
		if guard != nil {
			if err := guard(tx); err != nil {
				return err
			}
		}
		if err := st.set(tx, ctx, subject, string(v)); err != nil {
			return backend("set "+st.what, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

// clear is remove in a transaction of its own.
func (st setting[T]) clear(ctx context.Context, db store.Store, subject string) (T, error) {
	var old T
	err := db.Update(ctx, func(tx store.Tx) error {
		var err error
		old, err = st.remove(ctx, tx, subject)
		return err
	})
	return old, err
}

func (s *service) level(ctx context.Context, r store.Reader, subject string) (compat.Level, error) {
	return s.levels().effective(ctx, r, subject)
}

func (s *service) mode(ctx context.Context, r store.Reader, subject string) (Mode, error) {
	return modes().effective(ctx, r, subject)
}

func (s *service) writable(ctx context.Context, r store.Reader, subject string) (Mode, error) {
	m, err := s.mode(ctx, r, subject)
	if err != nil {
		return "", err
	}
	if m == ReadOnly {
		return "", errorf(CodeOperationNotPermitted, "Subject '%s' is in read-only mode", subject)
	}
	return m, nil
}

func (s *service) Config(ctx context.Context, subject string, defaultToGlobal bool) (compat.Level, error) {
	return s.levels().read(ctx, s.store, subject, defaultToGlobal)
}

func (s *service) SetConfig(ctx context.Context, subject, level string) (compat.Level, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return "", err
	}
	return s.levels().put(ctx, s.store, subject, l, nil)
}

func (s *service) DeleteConfig(ctx context.Context, subject string) (compat.Level, error) {
	return s.levels().clear(ctx, s.store, subject)
}

func (s *service) Mode(ctx context.Context, subject string, defaultToGlobal bool) (Mode, error) {
	return modes().read(ctx, s.store, subject, defaultToGlobal)
}

func (s *service) SetMode(ctx context.Context, subject, mode string, force bool) (Mode, error) {
	m, err := ParseMode(mode)
	if err != nil {
		return "", err
	}
	if m != Import || force {
		return modes().put(ctx, s.store, subject, m, nil)
	}
	// IMPORT without force only on an empty registry (or subject).
	return modes().put(ctx, s.store, subject, m, func(tx store.Tx) error {
		var nonEmpty bool
		if subject == "" {
			subs, err := tx.Subjects(ctx, true)
			if err != nil {
				return backend("list subjects", err)
			}
			nonEmpty = len(subs) > 0
		} else {
			vs, err := tx.Versions(ctx, subject)
			if err != nil {
				return backend("list versions", err)
			}
			nonEmpty = len(vs) > 0
		}
		if nonEmpty {
			return errorf(CodeOperationNotPermitted, "Cannot import since found existing subjects; set force=true to switch to IMPORT mode anyway")
		}
		return nil
	})
}

func (s *service) DeleteMode(ctx context.Context, subject string) (Mode, error) {
	return modes().clear(ctx, s.store, subject)
}
