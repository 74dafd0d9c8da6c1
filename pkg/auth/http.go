package auth

import (
	"fmt"
	"net/http"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// Authenticator finds the principal behind a request. It returns (nil, nil)
// for a request that carries no credentials, and an error wrapping
// ErrUnauthenticated for credentials that do not verify. Tokens implements
// it; an OIDC implementation would verify an ID token the same way.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// Chain tries each authenticator in turn and returns the first principal
// found. A credential rejected by one authenticator is rejected: it is not
// passed on to the next, so a bad token never falls through to anonymous.
type Chain []Authenticator

// Authenticate implements Authenticator.
func (c Chain) Authenticate(r *http.Request) (*Principal, error) {
	for _, a := range c {
		p, err := a.Authenticate(r)
		if err != nil || p != nil {
			return p, err
		}
	}
	return nil, nil
}

// Middleware authenticates every request and stores the principal in its
// context (FromContext). Anonymous requests pass through: each endpoint
// decides with Require whether it needs a principal. Requests with bad
// credentials are refused here with 401, through onError, so a service can
// write the error in its own format.
func Middleware(a Authenticator, onError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	if onError == nil {
		onError = apierr.Write
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			if err != nil {
				onError(w, r, err)
				return
			}
			if p != nil {
				r = r.WithContext(WithPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// String describes a principal for log lines: who it is, never its secret.
func (p *Principal) String() string {
	if p == nil {
		return "anonymous"
	}
	return fmt.Sprintf("%s:%s (token %s)", p.Kind, p.Subject, p.CredentialID)
}
