package auth

import "time"

// FailedLogins limits failed logins of another kind than API tokens (the
// embedded Kafka broker's SASL logins) with the same rules as Tokens
// (LoginLimits): a failure counts under each of its keys, and its answer
// is held back for the longest delay any of them has earned. Keys are the
// caller's, one per dimension limited, such as "source 192.0.2.1" and
// "principal hr". It is safe for concurrent use.
type FailedLogins struct{ l *loginLimiter }

// NewFailedLogins returns a limiter with limits; their zero fields mean
// DefaultLoginLimits.
func NewFailedLogins(limits LoginLimits) *FailedLogins {
	return &FailedLogins{l: newLoginLimiter(limits)}
}

// Fail records a failed login at now under every key and returns the
// failures counted per key (in the order of keys) and how long its answer
// is held back.
func (f *FailedLogins) Fail(now time.Time, keys ...string) ([]int, time.Duration) {
	counts := make([]int, len(keys))
	var wait time.Duration
	for i, k := range keys {
		n, w := f.l.fail(k, now)
		counts[i] = n
		wait = max(wait, w)
	}
	return counts, wait
}
