package avroserde

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// LatestSchema returns the id and text of the latest live version of
// subject, as the registry stores it. Errors: ErrNotRegistered (the subject
// has no live version), ErrRegistryUnavailable, ErrRegistryRejected.
func (c *RegistryClient) LatestSchema(ctx context.Context, subject string) (uint32, string, error) {
	if subject == "" {
		return 0, "", &Error{Op: "latest schema", Kind: ErrRegistryRejected, Err: errors.New("subject: must not be empty")}
	}
	var resp struct {
		ID     uint32 `json:"id"`
		Schema string `json:"schema"`
	}
	if err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions/latest", nil, &resp); err != nil {
		return 0, "", classify("latest schema", 0, subject, err, ErrNotRegistered)
	}
	return resp.ID, resp.Schema, nil
}

// DeleteSubject deletes every version of subject for good: a soft delete
// and then a permanent one (Confluent's DELETE /subjects/{s} and
// DELETE /subjects/{s}?permanent=true), so that a schema registered
// afterwards is checked against nothing that was there before. A subject
// that does not exist, or was soft-deleted already, is not an error.
// Ids of the deleted schemas may stop resolving. Errors:
// ErrRegistryUnavailable, ErrRegistryRejected.
func (c *RegistryClient) DeleteSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return &Error{Op: "delete subject", Kind: ErrRegistryRejected, Err: errors.New("subject: must not be empty")}
	}
	path := "/subjects/" + url.PathEscape(subject)
	for _, q := range []string{"", "?permanent=true"} {
		var versions []int
		err := c.do(ctx, http.MethodDelete, path+q, nil, &versions)
		var re *RegistryError
		switch {
		case err == nil:
		case errors.As(err, &re) && re.Status == http.StatusNotFound:
			// 40404 on the soft delete: soft-deleted already, the
			// permanent delete follows. Any other 404 (40401: no such
			// subject): nothing (more) to delete.
			if q != "" || re.Code != 40404 {
				return nil
			}
		default:
			return classify("delete subject", 0, subject, err, ErrNotRegistered)
		}
	}
	return nil
}
