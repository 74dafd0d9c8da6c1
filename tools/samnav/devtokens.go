package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/samnav/samnav/pkg/auth"
)

// processToken issues the API token a principal that runs inside `samnav
// dev` (a built-in service, an example system, the examples' information
// owner) uses, and keeps it in memory only: no token is written to disk,
// where anyone who can read the data directory (or a backup of it) could
// use it. Each start issues a new one and revokes the ones earlier starts
// issued to the same principal (same subject and name), so they neither
// pile up nor stay usable. legacyFile is where releases before kept the
// token in plain text; it is removed.
func (h *devHub) processToken(ctx context.Context, req auth.IssueRequest, legacyFile string) (string, error) {
	if err := os.Remove(legacyFile); err != nil && !errors.Is(err, fs.ErrNotExist) { //nolint:gosec // G703: a fixed file name under the data directory the user chose
		return "", fmt.Errorf("remove plain-text token file: %w", err)
	}
	recs, err := h.tokens.Store.ListTokens(ctx)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", req.Subject, err)
	}
	now := time.Now()
	for _, r := range recs {
		if r.Subject == req.Subject && r.Name == req.Name && r.RevokedAt.IsZero() {
			if err := h.tokens.Store.RevokeToken(ctx, r.ID, now); err != nil {
				return "", fmt.Errorf("revoke earlier token %s of %s: %w", r.ID, req.Subject, err)
			}
		}
	}
	token, _, err := h.tokens.Issue(ctx, req)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", req.Subject, err)
	}
	return token, nil
}
