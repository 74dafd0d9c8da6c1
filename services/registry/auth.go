package registry

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// Authorizer decides whether a request may change the registry (register,
// delete, PUT config or mode). Reads never reach it. Implementations must be
// safe for concurrent use. A later shared auth package replaces
// Credentials behind this same interface.
type Authorizer interface {
	// AuthorizeWrite returns nil when r may write, and an error saying why
	// not otherwise; the error's text is shown to the client. An error with
	// an HTTPStatus() method answering 403 (pkg/sdk/apierr's forbidden, what
	// auth.Require returns) means the caller is known but may not write: the
	// registry answers 403 (40301); any other error answers 401.
	AuthorizeWrite(r *http.Request) error
}

// ErrUnauthorized is returned by Credentials for a missing or wrong
// credential.
var ErrUnauthorized = errors.New("a valid bearer token or basic credential is required to change the registry")

// Credentials authorizes writes carrying one of a fixed set of bearer
// tokens ("Authorization: Bearer <token>") or HTTP basic credentials (what
// Confluent clients send for basic.auth.user.info = "user:password"). Only
// SHA-256 hashes of the secrets are kept, and a presented credential is
// compared with every accepted one in constant time.
type Credentials struct {
	tokens [][32]byte
	basic  [][32]byte
}

var _ Authorizer = (*Credentials)(nil)

// NewCredentials returns Credentials accepting bearerTokens and basic
// user:password pairs given as "user:password".
func NewCredentials(bearerTokens, basicUserInfo []string) *Credentials {
	c := &Credentials{}
	for _, t := range bearerTokens {
		c.tokens = append(c.tokens, sha256.Sum256([]byte(t)))
	}
	for _, u := range basicUserInfo {
		c.basic = append(c.basic, sha256.Sum256([]byte(u)))
	}
	return c
}

// AuthorizeWrite implements Authorizer.
func (c *Credentials) AuthorizeWrite(r *http.Request) error {
	h := r.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(h, "Bearer "); ok && token != "" {
		if matchAny(c.tokens, sha256.Sum256([]byte(token))) {
			return nil
		}
		return ErrUnauthorized
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if matchAny(c.basic, sha256.Sum256([]byte(user+":"+pass))) {
			return nil
		}
	}
	return ErrUnauthorized
}

// matchAny compares got with every accepted hash, without stopping early,
// so the time taken says nothing about which, if any, matched.
func matchAny(accepted [][32]byte, got [32]byte) bool {
	match := 0
	for i := range accepted {
		match |= subtle.ConstantTimeCompare(accepted[i][:], got[:])
	}
	return match == 1
}

// AllowAllWrites is an Authorizer that lets every write through. It exists
// for local development (`samnav dev`) and must be chosen explicitly.
type AllowAllWrites struct{}

// AuthorizeWrite implements Authorizer.
func (AllowAllWrites) AuthorizeWrite(*http.Request) error { return nil }
