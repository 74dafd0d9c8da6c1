package auth

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/sdk/apierr"
)

// LoginLimits slows down guessing: after Free failed token logins from one
// source address, or against one token id, each further failure blocks
// that source or token for a delay that doubles from Base up to Max.
// While blocked, every login from the source or for the token is refused
// before its secret is looked at, right or wrong, so guessing gains
// nothing; logins from other sources and of other tokens are unaffected,
// and successful logins do not count. A key with no failure for Forget is
// forgotten. A failure is a guess: an id no token has (counted per
// source) or a wrong secret (per source and per token); a malformed token
// or a revoked or expired one presented with its right secret is refused
// without counting. The zero value means the defaults (DefaultLoginLimits).
type LoginLimits struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
	// MaxKeys bounds the memory: the sources and token ids tracked at
	// once. When full, the keys least recently failed are forgotten.
	MaxKeys int
}

// DefaultLoginLimits: 5 free failures, then 1s, 2s, 4s ... up to 5 min;
// forgotten after 30 min without a failure; 100,000 keys.
var DefaultLoginLimits = LoginLimits{Free: 5, Base: time.Second, Max: 5 * time.Minute, Forget: 30 * time.Minute, MaxKeys: 100_000}

func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits
	if l.Free > 0 {
		d.Free = l.Free
	}
	if l.Base > 0 {
		d.Base = l.Base
	}
	if l.Max > 0 {
		d.Max = l.Max
	}
	if l.Forget > 0 {
		d.Forget = l.Forget
	}
	if l.MaxKeys > 0 {
		d.MaxKeys = l.MaxKeys
	}
	return d
}

type failures struct {
	n            int
	last         time.Time
	blockedUntil time.Time
}

// loginLimiter counts failed logins per key ("source <addr>", "token <id>").
type loginLimiter struct {
	limits LoginLimits
	mu     sync.Mutex
	keys   map[string]*failures
}

func newLoginLimiter(l LoginLimits) *loginLimiter {
	return &loginLimiter{limits: l.withDefaults(), keys: map[string]*failures{}}
}

// blocked returns how long key is still blocked at now (0: not blocked).
func (l *loginLimiter) blocked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok || !now.Before(f.blockedUntil) {
		return 0
	}
	return f.blockedUntil.Sub(now)
}

// fail records a failure of key at now and returns the failures counted
// and the delay it is now blocked for.
func (l *loginLimiter) fail(key string, now time.Time) (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok || now.Sub(f.last) > l.limits.Forget {
		if !ok && len(l.keys) >= l.limits.MaxKeys {
			l.evict(now)
		}
		f = &failures{}
		l.keys[key] = f
	}
	f.n++
	f.last = now
	if f.n <= l.limits.Free {
		return f.n, 0
	}
	delay := l.limits.Max
	if shift := f.n - l.limits.Free - 1; shift < 30 {
		delay = min(l.limits.Base<<shift, l.limits.Max)
	}
	f.blockedUntil = now.Add(delay)
	return f.n, delay
}

// evict forgets stale keys, and if none is stale, the least recently
// failed tenth. Called with mu held.
func (l *loginLimiter) evict(now time.Time) {
	for k, f := range l.keys {
		if now.Sub(f.last) > l.limits.Forget && now.After(f.blockedUntil) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < l.limits.MaxKeys {
		return
	}
	oldest := now
	for _, f := range l.keys {
		if f.last.Before(oldest) {
			oldest = f.last
		}
	}
	cut := oldest.Add(now.Sub(oldest) / 10)
	for k, f := range l.keys {
		if !f.last.After(cut) {
			delete(l.keys, k)
		}
	}
}

// sourceOf returns the address a request came from: the host of
// RemoteAddr (a proxy's forwarding headers are not trusted; behind one,
// the limit is per proxy as well as per token).
func sourceOf(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// tokenID returns the public id part of a token, "" if it is malformed.
func tokenID(token string) string {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return ""
	}
	return id
}

// checkBlocked refuses a login while its source or token is blocked.
func (t *Tokens) checkBlocked(source, id string, now time.Time) error {
	lim := t.limiter()
	for _, k := range limitKeys(source, id) {
		if wait := lim.blocked(k, now); wait > 0 {
			t.logger().Warn("token login refused: too many failed logins", "key", k, "retry_in", wait.Round(time.Second))
			return apierr.Errorf(apierr.CodeUnauthorized, "%w: too many failed logins from this address or for this token; retry in %s",
				ErrUnauthenticated, wait.Round(time.Second))
		}
	}
	return nil
}

// recordFailure counts a failed login against its source and token and
// logs it: the source, the token's public id and why, never the secret.
func (t *Tokens) recordFailure(source, id string, err error, now time.Time) {
	lim := t.limiter()
	attrs := []any{"source", source, "token_id", id, "reason", failureReason(err)}
	for _, k := range limitKeys(source, id) {
		n, delay := lim.fail(k, now)
		attrs = append(attrs, slog.Group(strings.Fields(k)[0], "failures", n, "blocked_for", delay))
	}
	t.logger().Warn("token login failed", attrs...)
}

func limitKeys(source, id string) []string {
	var keys []string
	if source != "" {
		keys = append(keys, "source "+source)
	}
	if id != "" {
		keys = append(keys, "token "+id)
	}
	return keys
}

// failureReason is the part of a Verify error that says why, for the log.
func failureReason(err error) string {
	msg := err.Error()
	if _, why, ok := strings.Cut(msg, ": "); ok {
		return why
	}
	return msg
}
