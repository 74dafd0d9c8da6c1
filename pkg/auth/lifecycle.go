package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// TokenAction is a change in a token's life that is recorded.
type TokenAction string

const (
	TokenIssued  TokenAction = "issued"
	TokenRotated TokenAction = "rotated"
	TokenRevoked TokenAction = "revoked"
)

// TokenEvent records who changed a token, when, and why.
type TokenEvent struct {
	TokenID string      `json:"tokenId"`
	At      time.Time   `json:"at"`
	Action  TokenAction `json:"action"`
	// Actor is the principal that made the change (Principal.String():
	// kind, subject and the token it used), never a secret.
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	// Related is the other token of a rotation: on the old token's
	// "rotated" event the new one, on the new one's "issued" event the old.
	Related string `json:"related,omitempty"`
}

// LifecycleStore is a TokenStore that also keeps who changed its tokens
// and when each was last used. Each change and its event are stored in one
// transaction: a change is never kept without its record. MemoryStore and
// authsql.Store implement it; authtest.Run checks both.
type LifecycleStore interface {
	TokenStore
	// IssueToken stores t (a new id) and ev.
	IssueToken(ctx context.Context, t TokenRecord, ev TokenEvent) error
	// RotateToken stores next (a new id), brings old's expiry forward to
	// until (never later than it was), and stores evs. An unknown or
	// revoked old id wraps ErrTokenNotFound and changes nothing.
	RotateToken(ctx context.Context, oldID string, until time.Time, next TokenRecord, evs []TokenEvent) error
	// RevokeTokenFor revokes id at ev.At, keeping an earlier revocation's
	// time, and stores ev. Unknown ids wrap ErrTokenNotFound.
	RevokeTokenFor(ctx context.Context, id string, ev TokenEvent) error
	// TouchToken sets id's LastUsedAt to at unless it is already later.
	TouchToken(ctx context.Context, id string, at time.Time) error
	// TokenEvents returns id's events, oldest first (none for an unknown id).
	TokenEvents(ctx context.Context, id string) ([]TokenEvent, error)
}

// TokenPolicy bounds the tokens an admin issues: expiry is required, with
// a default and a maximum, and a rotation's overlap is bounded.
type TokenPolicy struct {
	// DefaultTTL is a new token's lifetime when the request names none.
	DefaultTTL time.Duration
	// MaxTTL is the longest lifetime a request may ask for.
	MaxTTL time.Duration
	// DefaultOverlap is how long a rotated token stays valid beside its
	// successor when the request names no overlap; MaxOverlap bounds it.
	DefaultOverlap time.Duration
	MaxOverlap     time.Duration
}

// DefaultTokenPolicy is 90 days by default, at most a year; a rotated token
// stays valid 1 hour by default, at most 7 days.
var DefaultTokenPolicy = TokenPolicy{DefaultTTL: 90 * 24 * time.Hour, MaxTTL: 365 * 24 * time.Hour,
	DefaultOverlap: time.Hour, MaxOverlap: 7 * 24 * time.Hour}

// WithDefaults fills p's zero fields from DefaultTokenPolicy.
func (p TokenPolicy) WithDefaults() TokenPolicy {
	d := DefaultTokenPolicy
	return TokenPolicy{DefaultTTL: cmp.Or(p.DefaultTTL, d.DefaultTTL), MaxTTL: cmp.Or(p.MaxTTL, d.MaxTTL),
		DefaultOverlap: cmp.Or(p.DefaultOverlap, d.DefaultOverlap), MaxOverlap: cmp.Or(p.MaxOverlap, d.MaxOverlap)}
}

// Validate reports every problem with the policy at once.
func (p TokenPolicy) Validate() error {
	var errs []error
	if p.DefaultTTL <= 0 || p.MaxTTL <= 0 || p.DefaultTTL > p.MaxTTL {
		errs = append(errs, fmt.Errorf("token ttl: the default (%s) and maximum (%s) must be positive, the default at most the maximum", p.DefaultTTL, p.MaxTTL))
	}
	if p.DefaultOverlap < 0 || p.MaxOverlap < 0 || p.DefaultOverlap > p.MaxOverlap {
		errs = append(errs, fmt.Errorf("token overlap: the default (%s) and maximum (%s) must not be negative, the default at most the maximum", p.DefaultOverlap, p.MaxOverlap))
	}
	return errors.Join(errs...)
}

// DefaultTouchInterval is how often, at most, a token's last use is
// written: "last used" is this stale at worst, and a busy token costs one
// write per interval, not one per request.
const DefaultTouchInterval = time.Minute

// lifecycle is what a Tokens keeps for LifecycleStore: when each token's
// last use was last written.
type lifecycle struct {
	mu      sync.Mutex
	touched map[string]time.Time
}

// touch records a use of id at now, writing it to the store at most once
// per TouchInterval per token. A failed write is logged, not returned: the
// request it belongs to was authenticated.
func (t *Tokens) touch(ctx context.Context, id string, now time.Time) {
	ls, ok := t.Store.(LifecycleStore)
	if !ok {
		return
	}
	every := t.TouchInterval
	if every <= 0 {
		every = DefaultTouchInterval
	}
	t.life.mu.Lock()
	if t.life.touched == nil {
		t.life.touched = map[string]time.Time{}
	}
	last, seen := t.life.touched[id]
	if seen && now.Sub(last) < every {
		t.life.mu.Unlock()
		return
	}
	t.life.touched[id] = now
	if len(t.life.touched) > 100_000 {
		// Bound the memory; forgetting only costs an early write.
		for k, at := range t.life.touched {
			if now.Sub(at) >= every {
				delete(t.life.touched, k)
			}
		}
	}
	t.life.mu.Unlock()
	if err := ls.TouchToken(ctx, id, now); err != nil {
		t.logger().Warn("record token use", "token_id", id, "err", err)
	}
}

// CreateRequest is an admin's request for a token (the /api/v1/tokens
// body): one grant of Role, for Concepts or System as the role needs.
type CreateRequest struct {
	Name     string   `json:"name"`
	Role     Role     `json:"role"`
	Concepts []string `json:"concepts,omitempty"`
	System   string   `json:"system,omitempty"`
	// Subject defaults to System, else to Name.
	Subject string `json:"subject,omitempty"`
	Kind    Kind   `json:"kind,omitempty"`
	// Expires is the lifetime, a Go duration ("1h", "720h"); "" means
	// the policy's default.
	Expires string `json:"expires,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// resolve checks r against policy, reporting every problem at once as an
// invalid error whose fields name each field and rule.
func (r CreateRequest) resolve(policy TokenPolicy) (IssueRequest, error) {
	var bad []apierr.FieldError
	if strings.TrimSpace(r.Name) == "" {
		bad = append(bad, apierr.FieldError{Field: "name", Rule: "required", Message: "must not be empty"})
	}
	g := Grant{Role: r.Role, Concepts: r.Concepts, System: strings.TrimSpace(r.System)}
	if err := g.Validate(); err != nil {
		for line := range strings.SplitSeq(err.Error(), "\n") {
			field, _, _ := strings.Cut(line, ":")
			field, _, _ = strings.Cut(field, " ")
			bad = append(bad, apierr.FieldError{Field: field, Rule: "grant", Message: line})
		}
	}
	kind := r.Kind
	if kind == "" {
		kind = KindSystem
	}
	if kind != KindUser && kind != KindSystem {
		bad = append(bad, apierr.FieldError{Field: "kind", Rule: "enum", Message: fmt.Sprintf("kind %q: must be %q or %q", kind, KindUser, KindSystem)})
	}
	ttl, fe := boundedDuration("expires", r.Expires, policy.DefaultTTL, policy.MaxTTL, false)
	if fe != nil {
		bad = append(bad, *fe)
	}
	if len(bad) > 0 {
		return IssueRequest{}, invalid(bad)
	}
	subject := strings.TrimSpace(r.Subject)
	if subject == "" {
		subject = g.System
	}
	if subject == "" {
		subject = strings.TrimSpace(r.Name)
	}
	return IssueRequest{Subject: subject, Kind: kind, Name: strings.TrimSpace(r.Name), Grants: []Grant{g}, TTL: ttl}, nil
}

// invalid is the one refusal of a token request: its message lists every
// problem, its fields name each field and rule.
func invalid(bad []apierr.FieldError) error {
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = f.Message
		if !strings.HasPrefix(f.Message, f.Field) {
			msgs[i] = f.Field + ": " + f.Message
		}
	}
	return apierr.Invalid("token request: "+strings.Join(msgs, "; "), bad...)
}

// boundedDuration parses s as a Go duration between 0 (or 1ns, when zero
// is not allowed) and maxD; "" is def.
func boundedDuration(field, s string, def, maxD time.Duration, zeroOK bool) (time.Duration, *apierr.FieldError) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &apierr.FieldError{Field: field, Rule: "format", Message: fmt.Sprintf("%s %q: must be a duration such as 1h or 720h", field, s)}
	}
	if d < 0 || (d == 0 && !zeroOK) {
		return 0, &apierr.FieldError{Field: field, Rule: "min", Message: fmt.Sprintf("%s %q: must be positive", field, s)}
	}
	if d > maxD {
		return 0, &apierr.FieldError{Field: field, Rule: "max", Message: fmt.Sprintf("%s %q: must be at most %s", field, s, maxD)}
	}
	return d, nil
}

func (t *Tokens) lifecycleStore() (LifecycleStore, error) {
	ls, ok := t.Store.(LifecycleStore)
	if !ok {
		return nil, apierr.Errorf(apierr.CodeUnavailable, "token store %T keeps no token history", t.Store)
	}
	return ls, nil
}

// Create issues a token as by's request and records who issued it and
// why. It returns the secret, shown once.
func (t *Tokens) Create(ctx context.Context, by *Principal, req CreateRequest, policy TokenPolicy) (string, TokenRecord, error) {
	ls, err := t.lifecycleStore()
	if err != nil {
		return "", TokenRecord{}, err
	}
	ir, err := req.resolve(policy)
	if err != nil {
		return "", TokenRecord{}, err
	}
	secret, rec, err := t.newToken(ir)
	if err != nil {
		return "", TokenRecord{}, err
	}
	ev := TokenEvent{TokenID: rec.ID, At: rec.CreatedAt, Action: TokenIssued, Actor: by.String(), Reason: req.Reason}
	if err := ls.IssueToken(ctx, rec, ev); err != nil {
		return "", TokenRecord{}, fmt.Errorf("create token: %w", err)
	}
	return secret, rec, nil
}

// Rotate issues a successor of token id with the same subject, name and
// grants and the same lifetime from now, and keeps id valid for overlap
// ("" means the policy's default; at most its maximum) beside it. It
// returns the successor's secret, shown once.
func (t *Tokens) Rotate(ctx context.Context, by *Principal, id, overlap, reason string, policy TokenPolicy) (string, TokenRecord, error) {
	ls, err := t.lifecycleStore()
	if err != nil {
		return "", TokenRecord{}, err
	}
	ov, fe := boundedDuration("overlap", overlap, policy.DefaultOverlap, policy.MaxOverlap, true)
	if fe != nil {
		return "", TokenRecord{}, invalid([]apierr.FieldError{*fe})
	}
	old, err := ls.TokenByID(ctx, id)
	if err != nil {
		return "", TokenRecord{}, fmt.Errorf("rotate token: %w", err)
	}
	now := t.now().UTC().Truncate(time.Millisecond)
	if !old.Active(now) {
		return "", TokenRecord{}, apierr.Errorf(apierr.CodeConflict, "rotate token %s: it is revoked or expired; create a new one", id)
	}
	ttl := policy.DefaultTTL
	if !old.ExpiresAt.IsZero() {
		ttl = min(old.ExpiresAt.Sub(old.CreatedAt), policy.MaxTTL)
	}
	secret, next, err := t.newToken(IssueRequest{Subject: old.Subject, Kind: old.Kind, Name: old.Name, Grants: old.Grants, TTL: ttl})
	if err != nil {
		return "", TokenRecord{}, err
	}
	actor := by.String()
	evs := []TokenEvent{
		{TokenID: old.ID, At: next.CreatedAt, Action: TokenRotated, Actor: actor, Reason: reason, Related: next.ID},
		{TokenID: next.ID, At: next.CreatedAt, Action: TokenIssued, Actor: actor, Reason: reason, Related: old.ID},
	}
	if err := ls.RotateToken(ctx, old.ID, next.CreatedAt.Add(ov), next, evs); err != nil {
		return "", TokenRecord{}, fmt.Errorf("rotate token: %w", err)
	}
	return secret, next, nil
}

// Revoke revokes token id at once, recording who and why; reason is
// required.
func (t *Tokens) Revoke(ctx context.Context, by *Principal, id, reason string) error {
	ls, err := t.lifecycleStore()
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return invalid([]apierr.FieldError{{Field: "reason", Rule: "required", Message: "must not be empty"}})
	}
	ev := TokenEvent{TokenID: id, At: t.now().UTC().Truncate(time.Millisecond), Action: TokenRevoked, Actor: by.String(), Reason: reason}
	if err := ls.RevokeTokenFor(ctx, id, ev); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// Events returns token id's events, oldest first.
func (t *Tokens) Events(ctx context.Context, id string) ([]TokenEvent, error) {
	ls, err := t.lifecycleStore()
	if err != nil {
		return nil, err
	}
	if _, err := ls.TokenByID(ctx, id); err != nil {
		return nil, fmt.Errorf("token events: %w", err)
	}
	evs, err := ls.TokenEvents(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("token events: %w", err)
	}
	return evs, nil
}
