// Compatibility levels and write modes, per subject and global.

package schemas

import (
	"context"
	"errors"
	"strings"

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

func (s *service) level(ctx context.Context, r store.Reader, subject string) (Level, error) {
	for _, sub := range []string{subject, ""} {
		l, err := r.Config(ctx, sub)
		if err == nil {
			return Level(l), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", backend("get config", err)
		}
	}
	return s.defaultLevel, nil
}

func (s *service) mode(ctx context.Context, r store.Reader, subject string) (Mode, error) {
	for _, sub := range []string{subject, ""} {
		m, err := r.Mode(ctx, sub)
		if err == nil {
			return Mode(m), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", backend("get mode", err)
		}
	}
	return ReadWrite, nil
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

func (s *service) Config(ctx context.Context, subject string, defaultToGlobal bool) (Level, error) {
	if subject != "" {
		l, err := s.store.Config(ctx, subject)
		if err == nil {
			return Level(l), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", backend("get config", err)
		}
		if !defaultToGlobal {
			return "", errorf(CodeSubjectConfigNotSet, "Subject '%s' does not have subject-level compatibility configured", subject)
		}
	}
	return s.level(ctx, s.store, "")
}

func (s *service) SetConfig(ctx context.Context, subject, level string) (Level, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetConfig(ctx, subject, string(l)); err != nil {
			return backend("set config", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return l, nil
}

func (s *service) DeleteConfig(ctx context.Context, subject string) (Level, error) {
	var old Level
	err := s.store.Update(ctx, func(tx store.Tx) error {
		l, err := tx.Config(ctx, subject)
		switch {
		case err == nil:
			old = Level(l)
		case !errors.Is(err, store.ErrNotFound):
			return backend("get config", err)
		case subject == "":
			old = s.defaultLevel
		default:
			return errorf(CodeSubjectConfigNotSet, "Subject '%s' does not have subject-level compatibility configured", subject)
		}
		if err := tx.DeleteConfig(ctx, subject); err != nil {
			return backend("delete config", err)
		}
		return nil
	})
	return old, err
}

func (s *service) Mode(ctx context.Context, subject string, defaultToGlobal bool) (Mode, error) {
	if subject != "" {
		m, err := s.store.Mode(ctx, subject)
		if err == nil {
			return Mode(m), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", backend("get mode", err)
		}
		if !defaultToGlobal {
			return "", errorf(CodeSubjectModeNotSet, "Subject '%s' does not have subject-level mode configured", subject)
		}
	}
	return s.mode(ctx, s.store, "")
}

func (s *service) SetMode(ctx context.Context, subject, mode string, force bool) (Mode, error) {
	m, err := ParseMode(mode)
	if err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if m == Import && !force {
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
		}
		if err := tx.SetMode(ctx, subject, string(m)); err != nil {
			return backend("set mode", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return m, nil
}

func (s *service) DeleteMode(ctx context.Context, subject string) (Mode, error) {
	var old Mode
	err := s.store.Update(ctx, func(tx store.Tx) error {
		m, err := tx.Mode(ctx, subject)
		switch {
		case err == nil:
			old = Mode(m)
		case !errors.Is(err, store.ErrNotFound):
			return backend("get mode", err)
		case subject == "":
			old = ReadWrite
		default:
			return errorf(CodeSubjectModeNotSet, "Subject '%s' does not have subject-level mode configured", subject)
		}
		if err := tx.DeleteMode(ctx, subject); err != nil {
			return backend("delete mode", err)
		}
		return nil
	})
	return old, err
}
