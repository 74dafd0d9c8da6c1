package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// A token reads snv_<id>_<secret>. The id is public and finds the record;
// only a SHA-256 of the secret is stored. The secret has 256 bits of
// entropy, so a fast hash is enough: there is nothing to brute-force.
const tokenPrefix = "snv_"

// TokenRecord is a stored API token. It never holds the secret.
type TokenRecord struct {
	ID        string
	Subject   string
	Kind      Kind
	Name      string
	Grants    []Grant
	Hash      []byte // SHA-256 of the secret
	CreatedAt time.Time
	// ExpiresAt is zero for a token that does not expire.
	ExpiresAt time.Time
	// RevokedAt is zero for a token in use.
	RevokedAt time.Time
	// LastUsedAt is when the token last authenticated a request, zero if
	// never; written at most once per Tokens.TouchInterval, so it may lag
	// by that much.
	LastUsedAt time.Time
}

// Active reports whether the token may be used at now.
func (t TokenRecord) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// ErrTokenNotFound is returned by a TokenStore for an unknown id.
var ErrTokenNotFound = errors.New("token not found")

// TokenStore keeps token records. Implementations are safe for concurrent
// use; authtest.Run is the suite every implementation passes.
type TokenStore interface {
	// CreateToken stores a new record; an existing id is an error.
	CreateToken(ctx context.Context, t TokenRecord) error
	// TokenByID returns the record, or an error wrapping ErrTokenNotFound.
	TokenByID(ctx context.Context, id string) (TokenRecord, error)
	// RevokeToken marks the token revoked at the given time; revoking a
	// revoked token keeps the first time. Unknown ids wrap ErrTokenNotFound.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// ListTokens returns every record, oldest first.
	ListTokens(ctx context.Context) ([]TokenRecord, error)
}

// IssueRequest describes a token to create.
type IssueRequest struct {
	Subject string
	Kind    Kind
	Name    string
	Grants  []Grant
	// TTL is how long the token is valid; 0 means until revoked.
	TTL time.Duration
}

// Validate reports every problem with the request at once.
func (r IssueRequest) Validate() error {
	var errs []error
	if strings.TrimSpace(r.Subject) == "" {
		errs = append(errs, errors.New("subject: must not be empty"))
	}
	if r.Kind != KindUser && r.Kind != KindSystem {
		errs = append(errs, fmt.Errorf("kind %q: must be %q or %q", r.Kind, KindUser, KindSystem))
	}
	if len(r.Grants) == 0 {
		errs = append(errs, errors.New("grants: a token must carry at least one grant"))
	}
	for i, g := range r.Grants {
		if err := g.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("grants[%d]: %w", i, err))
		}
	}
	if r.TTL < 0 {
		errs = append(errs, fmt.Errorf("ttl: must not be negative, got %s", r.TTL))
	}
	return errors.Join(errs...)
}

// Tokens issues API tokens and authenticates requests that carry them.
// Failed logins are limited and logged (LoginLimits); a Tokens must not be
// copied after first use.
type Tokens struct {
	Store TokenStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits slows failed logins per source address and per token; the
	// zero value means DefaultLoginLimits.
	Limits LoginLimits
	// Wait holds a failed login's answer back for d (or until ctx ends);
	// nil means a timer. Tests replace it.
	Wait func(ctx context.Context, d time.Duration)
	// Logger receives a line per failed login (never the secret); nil
	// means slog.Default().
	Logger *slog.Logger

	// TouchInterval is how often, at most, a token's last use is written
	// to a LifecycleStore; 0 means DefaultTouchInterval.
	TouchInterval time.Duration

	limitOnce sync.Once
	limits    *loginLimiter
	life      lifecycle
}

func (t *Tokens) limiter() *loginLimiter {
	t.limitOnce.Do(func() { t.limits = newLoginLimiter(t.Limits) })
	return t.limits
}

func (t *Tokens) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.Default()
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Issue creates a token and returns its secret form, which is shown once and
// never stored.
func (t *Tokens) Issue(ctx context.Context, req IssueRequest) (string, TokenRecord, error) {
	secret, rec, err := t.newToken(req)
	if err != nil {
		return "", TokenRecord{}, err
	}
	if err := t.Store.CreateToken(ctx, rec); err != nil {
		return "", TokenRecord{}, fmt.Errorf("issue token: store: %w", err)
	}
	return secret, rec, nil
}

// newToken validates req and makes a token record and its secret form,
// storing nothing.
func (t *Tokens) newToken(req IssueRequest) (string, TokenRecord, error) {
	if err := req.Validate(); err != nil {
		return "", TokenRecord{}, apierr.Errorf(apierr.CodeInvalid, "issue token: %w", err)
	}
	idb := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return "", TokenRecord{}, fmt.Errorf("issue token: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return "", TokenRecord{}, fmt.Errorf("issue token: %w", err)
	}
	now := t.now().UTC().Truncate(time.Millisecond)
	rec := TokenRecord{
		ID:        hex.EncodeToString(idb),
		Subject:   req.Subject,
		Kind:      req.Kind,
		Name:      req.Name,
		Grants:    req.Grants,
		CreatedAt: now,
	}
	if req.TTL > 0 {
		rec.ExpiresAt = now.Add(req.TTL)
	}
	enc := base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(enc))
	rec.Hash = sum[:]
	return tokenPrefix + rec.ID + "_" + enc, rec, nil
}

// Verify returns the principal a token secret stands for. Every failure
// wraps ErrUnauthenticated and says why without echoing the secret.
// Failed guesses are slowed per token id and logged (LoginLimits);
// Authenticate slows them per source address too.
func (t *Tokens) Verify(ctx context.Context, token string) (*Principal, error) {
	return t.VerifyFrom(ctx, token, "")
}

// VerifyFrom is Verify for a login from source (an address; "" if
// unknown), which failed logins are slowed per as well as per token id.
func (t *Tokens) VerifyFrom(ctx context.Context, token, source string) (*Principal, error) {
	p, guess, why, err := t.verify(ctx, token)
	switch guess {
	case guessID:
		// An unknown id is the guesser's choice: limit by source only.
		t.wait(ctx, t.recordFailure(source, "", why, t.now()))
	case guessSecret:
		t.wait(ctx, t.recordFailure(source, tokenID(token), why, t.now()))
	}
	return p, err
}

// guess classifies a failed login: only guesses count towards the limits.
// A malformed token, or the right secret of a revoked or expired token,
// guesses nothing.
type guess int

const (
	noGuess     guess = iota
	guessID           // an id no token has
	guessSecret       // a wrong secret for a token's id
)

// errNotRecognised is the one answer to an unknown id and to a wrong
// secret alike: a different answer would tell a guesser which ids exist.
// The log line (recordFailure) says which it was.
func errNotRecognised() error {
	return apierr.Errorf(apierr.CodeUnauthorized, "%w: token not recognised", ErrUnauthenticated)
}

// verify checks token and says what, if anything, it guessed wrong, and
// why it failed in words for the log (the error is what the caller sees).
func (t *Tokens) verify(ctx context.Context, token string) (*Principal, guess, string, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || id == "" || secret == "" {
		return nil, noGuess, "malformed token", apierr.Errorf(apierr.CodeUnauthorized, "%w: malformed token (want snv_<id>_<secret>)", ErrUnauthenticated)
	}
	rec, err := t.Store.TokenByID(ctx, id)
	sum := sha256.Sum256([]byte(secret))
	if errors.Is(err, ErrTokenNotFound) {
		// Compare anyway, so an unknown id costs what a wrong secret does.
		subtle.ConstantTimeCompare(sum[:], unknownHash[:])
		return nil, guessID, "unknown token", errNotRecognised()
	}
	if err != nil {
		return nil, noGuess, "store", fmt.Errorf("verify token %s: %w", id, err)
	}
	if subtle.ConstantTimeCompare(sum[:], rec.Hash) != 1 {
		return nil, guessSecret, "wrong secret", errNotRecognised()
	}
	now := t.now()
	if !rec.Active(now) {
		return nil, noGuess, "revoked or expired", apierr.Errorf(apierr.CodeUnauthorized, "%w: token %s is revoked or expired", ErrUnauthenticated, id)
	}
	t.touch(ctx, rec.ID, now)
	return &Principal{Subject: rec.Subject, Kind: rec.Kind, Name: rec.Name, Grants: rec.Grants, CredentialID: rec.ID}, noGuess, "", nil
}

// unknownHash is what an unknown id's secret is compared with.
var unknownHash = sha256.Sum256([]byte("unknown"))

// Authenticate implements Authenticator: it reads a token from
// "Authorization: Bearer <token>", or from HTTP basic auth with the token
// as the password (how Confluent clients send basic.auth.user.info). A
// request without credentials is anonymous: (nil, nil).
func (t *Tokens) Authenticate(r *http.Request) (*Principal, error) {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			token = strings.TrimSpace(value)
		case strings.EqualFold(scheme, "Basic"):
			_, pass, ok := r.BasicAuth()
			if !ok {
				return nil, apierr.Errorf(apierr.CodeUnauthorized, "%w: malformed basic credentials", ErrUnauthenticated)
			}
			token = pass
		default:
			// The scheme is not repeated: a token sent without one is
			// all "scheme", and errors reach responses and logs.
			return nil, apierr.Errorf(apierr.CodeUnauthorized, "%w: unsupported authorization scheme (use Bearer)", ErrUnauthenticated)
		}
	}
	if token == "" {
		return nil, nil
	}
	return t.VerifyFrom(r.Context(), token, sourceOf(r))
}

// EnsureBootstrapAdmin issues an admin token if the store has no active admin
// token yet, and returns its secret (shown once, like Jupyter's start-up
// token). When an active admin token exists it returns "".
func (t *Tokens) EnsureBootstrapAdmin(ctx context.Context) (string, error) {
	recs, err := t.Store.ListTokens(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap admin: %w", err)
	}
	now := t.now()
	for _, r := range recs {
		if !r.Active(now) {
			continue
		}
		for _, g := range r.Grants {
			if g.Role == RoleAdmin {
				return "", nil
			}
		}
	}
	secret, _, err := t.Issue(ctx, IssueRequest{
		Subject: "bootstrap-admin", Kind: KindUser, Name: "Bootstrap administrator",
		Grants: []Grant{{Role: RoleAdmin}},
	})
	if err != nil {
		return "", fmt.Errorf("bootstrap admin: %w", err)
	}
	return secret, nil
}
