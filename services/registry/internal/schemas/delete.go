// Deleting subjects and versions, softly or for good.

package schemas

import (
	"context"

	"github.com/samnav/samnav/services/registry/internal/store"
)

func (s *service) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	var deleted []int
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.writable(ctx, tx, subject); err != nil {
			return err
		}
		all, err := subjectVersions(ctx, tx, subject, true)
		if err != nil {
			return err
		}
		live := visible(all, false)
		deleted = []int{}
		if !permanent {
			if len(live) == 0 {
				return errorf(CodeSubjectSoftDeleted, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
			}
			for _, v := range live {
				if err := tx.SoftDeleteVersion(ctx, subject, v.Version); err != nil {
					return backend("soft-delete version", err)
				}
				deleted = append(deleted, v.Version)
			}
			return nil
		}
		if len(live) > 0 {
			return errorf(CodeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
		}
		for _, v := range all {
			if err := tx.HardDeleteVersion(ctx, subject, v.Version); err != nil {
				return backend("hard-delete version", err)
			}
			deleted = append(deleted, v.Version)
		}
		if err := tx.DeleteConfig(ctx, subject); err != nil {
			return backend("delete config", err)
		}
		if err := tx.DeleteMode(ctx, subject); err != nil {
			return backend("delete mode", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

func (s *service) DeleteVersion(ctx context.Context, subject, version string, permanent bool) (int, error) {
	n, err := parseVersion(version)
	if err != nil {
		return 0, err
	}
	var deleted int
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.writable(ctx, tx, subject); err != nil {
			return err
		}
		all, err := subjectVersions(ctx, tx, subject, true)
		if err != nil {
			return err
		}
		candidates := all
		if n == latestVersion && !permanent {
			candidates = visible(all, false)
		}
		v, ok := pick(candidates, n)
		if !ok {
			return versionNotFound(n)
		}
		switch {
		case !permanent && v.Deleted:
			return errorf(CodeVersionSoftDeleted, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", subject, v.Version)
		case permanent && !v.Deleted:
			return errorf(CodeVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, v.Version)
		case permanent:
			err = tx.HardDeleteVersion(ctx, subject, v.Version)
		default:
			err = tx.SoftDeleteVersion(ctx, subject, v.Version)
		}
		if err != nil {
			return backend("delete version", err)
		}
		deleted = v.Version
		return nil
	})
	if err != nil {
		return 0, err
	}
	return deleted, nil
}
