// Package api hands the console's handlers the services' typed clients
// (services/masterdata/client, services/delivery/client) bound to the
// signed-in person's own token, so the APIs' role checks decide what the
// console may show and change, and reads the two registry answers the
// catalogue shows. It holds no data, no business rules and no wire types:
// those are the clients'.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/jsonapi"
	delivery "github.com/samnav/samnav/services/delivery/client"
	masterdata "github.com/samnav/samnav/services/masterdata/client"
)

// Client knows where the services are. It is safe for concurrent use.
type Client struct {
	MasterdataURL string
	DeliveryURL   string
	RegistryURL   string
	// HTTP sends every request; nil means http.DefaultClient.
	HTTP *http.Client
}

// Masterdata is the master data API as the holder of token.
func (c *Client) Masterdata(token string) *masterdata.Client {
	return &masterdata.Client{BaseURL: c.MasterdataURL, Token: token, HTTP: c.HTTP}
}

// Delivery is the delivery API as the holder of token.
func (c *Client) Delivery(token string) *delivery.Client {
	return &delivery.Client{BaseURL: c.DeliveryURL, Token: token, HTTP: c.HTTP}
}

// AsError returns the API answer in err's chain, or nil when err is not
// one (the API was not reached, say).
func AsError(err error) *apierr.Error {
	e, _ := errors.AsType[*apierr.Error](err)
	return e
}

// IsRefused reports whether err is an API's 401 or 403.
func IsRefused(err error) bool {
	e := AsError(err)
	return e != nil && (e.Code == apierr.CodeUnauthorized || e.Code == apierr.CodeForbidden)
}

// IsNotFound reports whether err is an API's answer that the thing is not
// there.
func IsNotFound(err error) bool {
	e := AsError(err)
	return e != nil && e.Code == apierr.CodeNotFound
}

// Verify asks the masterdata API who a token belongs to (GET
// /api/v1/whoami), so a console without a token store of its own can
// verify sign-ins. A token the API does not accept returns an error
// wrapping auth.ErrUnauthenticated.
func (c *Client) Verify(ctx context.Context, token string) (*auth.Principal, error) {
	who, err := c.Masterdata(token).Whoami(ctx)
	if e := AsError(err); e != nil && e.Code == apierr.CodeUnauthorized {
		return nil, fmt.Errorf("%w: %s", auth.ErrUnauthenticated, e.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if who.Subject == "" {
		return nil, fmt.Errorf("verify token: the API named no subject")
	}
	p := &auth.Principal{Subject: who.Subject, Kind: auth.Kind(who.Kind), Name: who.Name, CredentialID: who.CredentialID}
	for _, g := range who.Grants {
		p.Grants = append(p.Grants, auth.Grant{Role: auth.Role(g.Role), Concepts: g.Concepts, System: g.System})
	}
	return p, nil
}

func (c *Client) registry(ctx context.Context, token, path string, out any) error {
	return jsonapi.Endpoint{BaseURL: c.RegistryURL, Token: token, HTTP: c.HTTP}.Do(ctx, http.MethodGet, path, nil, nil, out)
}

// SchemaVersions returns the registered versions of a registry subject,
// ascending; a subject the registry does not know returns none.
func (c *Client) SchemaVersions(ctx context.Context, token, subject string) ([]int, error) {
	var vs []int
	err := c.registry(ctx, token, "/subjects/"+url.PathEscape(subject)+"/versions", &vs)
	if IsNotFound(err) {
		return nil, nil
	}
	return vs, err
}

// Compatibility returns the compatibility level of a subject, falling
// back to the registry's global level when the subject has none of its
// own.
func (c *Client) Compatibility(ctx context.Context, token, subject string) (string, error) {
	var cfg struct {
		Level  string `json:"compatibilityLevel"`
		Level2 string `json:"compatibility"`
	}
	err := c.registry(ctx, token, "/config/"+url.PathEscape(subject), &cfg)
	if IsNotFound(err) {
		err = c.registry(ctx, token, "/config", &cfg)
	}
	if err != nil {
		return "", err
	}
	if cfg.Level == "" {
		cfg.Level = cfg.Level2
	}
	return cfg.Level, nil
}
