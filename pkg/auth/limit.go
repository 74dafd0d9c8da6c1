package auth

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// LoginLimits slows down guessing: after Free failed token logins from one
// source address, or against one token id, the answer to each further
// failure is held back for a delay that doubles from Base up to Max. The
// delays of one key queue behind each other, so guesses sent in parallel
// wait for the sum of their delays (each for at most MaxWait; a guesser
// with many connections still gets at most one answer per delay and
// connection). Only failures wait: a successful login is answered at once
// whatever failed before it from its source or for its token, so a
// guesser behind the same proxy or ingress as real users slows only
// himself. A failure is a guess: an id no token has (counted per source)
// or a wrong secret (per source and per token); a malformed token or a
// revoked or expired one presented with its right secret is refused
// without counting. A key with no failure for Forget is forgotten. The
// zero value means the defaults (DefaultLoginLimits).
type LoginLimits struct {
	Free    int
	Base    time.Duration
	Max     time.Duration
	MaxWait time.Duration
	Forget  time.Duration
	// MaxKeys bounds the memory: the sources and token ids tracked at
	// once. When full, the keys least recently failed are forgotten.
	MaxKeys int
}

// DefaultLoginLimits are 5 free failures, then 250ms, 500ms, 1s ... up to
// 10s each, an answer held back at most 30s; forgotten after 30 min
// without a failure; 100,000 keys.
var DefaultLoginLimits = LoginLimits{Free: 5, Base: 250 * time.Millisecond, Max: 10 * time.Second, MaxWait: 30 * time.Second,
	Forget: 30 * time.Minute, MaxKeys: 100_000}

// withDefaults fills l's zero fields from DefaultLoginLimits.
func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits
	return LoginLimits{Free: cmp.Or(l.Free, d.Free), Base: cmp.Or(l.Base, d.Base), Max: cmp.Or(l.Max, d.Max),
		MaxWait: cmp.Or(l.MaxWait, d.MaxWait), Forget: cmp.Or(l.Forget, d.Forget), MaxKeys: cmp.Or(l.MaxKeys, d.MaxKeys)}
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

// fail records a failure of key at now and returns the failures counted
// and how long its answer is held back.
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
	if f.blockedUntil.Before(now) {
		f.blockedUntil = now
	}
	f.blockedUntil = f.blockedUntil.Add(delay)
	return f.n, min(f.blockedUntil.Sub(now), l.limits.MaxWait)
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

// recordFailure counts a failed login against its source and token, logs
// it (the source, the token's public id and why, never the secret) and
// returns how long its answer is held back.
func (t *Tokens) recordFailure(source, id, reason string, now time.Time) time.Duration {
	lim := t.limiter()
	attrs := []any{"source", source, "token_id", id, "reason", reason}
	var wait time.Duration
	for _, k := range limitKeys(source, id) {
		n, w := lim.fail(k, now)
		wait = max(wait, w)
		attrs = append(attrs, slog.Group(strings.Fields(k)[0], "failures", n))
	}
	t.logger().Warn("token login failed", append(attrs, "answer_delay", wait)...)
	return wait
}

// wait holds a failure's answer back for d, or until ctx ends.
func (t *Tokens) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	if t.Wait != nil {
		t.Wait(ctx, d)
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
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
