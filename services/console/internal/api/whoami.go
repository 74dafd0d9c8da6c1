package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/samnav/samnav/pkg/auth"
)

// Verify asks the masterdata API who a token belongs to (GET
// /api/v1/whoami), so a console without a token store of its own can
// verify sign-ins. A token the API does not accept returns an error
// wrapping auth.ErrUnauthenticated.
func (c *Client) Verify(ctx context.Context, token string) (*auth.Principal, error) {
	var who struct {
		Subject      string       `json:"subject"`
		Kind         auth.Kind    `json:"kind"`
		Name         string       `json:"name"`
		CredentialID string       `json:"credentialId"`
		Grants       []auth.Grant `json:"grants"`
	}
	err := c.call(ctx, token, http.MethodGet, join(c.MasterdataURL, "api", "v1", "whoami"), nil, nil, &who)
	if IsStatus(err, http.StatusUnauthorized) {
		return nil, fmt.Errorf("%w: %s", auth.ErrUnauthenticated, AsError(err).Message)
	}
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if who.Subject == "" {
		return nil, fmt.Errorf("verify token: the API named no subject")
	}
	return &auth.Principal{Subject: who.Subject, Kind: who.Kind, Name: who.Name, CredentialID: who.CredentialID, Grants: who.Grants}, nil
}
