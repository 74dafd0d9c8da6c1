package daemon

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Env reads a program's environment variables through getenv, one
// variable at a time, and keeps a problem for every value it cannot read,
// naming the variable and the rule, so that a LoadConfig reports them all
// at once (Err). A variable that is unset (or empty) reads as the zero
// value.
type Env struct {
	getenv func(string) string
	errs   []error
}

// NewEnv returns an Env reading through getenv (os.Getenv in main).
func NewEnv(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Daemon returns what every daemon shares, read by LoadConfig for
// service (its listen address defaulting to defaultAddr).
func (e *Env) Daemon(service, defaultAddr string) Config {
	c, err := LoadConfig(e.getenv, service, defaultAddr)
	e.Fail(err)
	return c
}

// String returns the value of name.
func (e *Env) String(name string) string { return e.getenv(name) }

// List returns the comma-separated entries of name, each trimmed of white
// space, empty ones left out.
func (e *Env) List(name string) []string {
	var out []string
	for p := range strings.SplitSeq(e.getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Bool returns whether name is "true"; anything but "true", "false"
// (in any case) and unset is a problem.
func (e *Env) Bool(name string) bool {
	switch v := e.getenv(name); strings.ToLower(v) {
	case "", "false":
		return false
	case "true":
		return true
	default:
		e.errs = append(e.errs, fmt.Errorf("%s: must be true or false, got %q", name, v))
		return false
	}
}

// Duration returns name as a Go duration ("90s", "2m"); its sign is the
// caller's Validate's to judge.
func (e *Env) Duration(name string) time.Duration {
	return read(e, name, "a duration such as 30s or 2m", time.ParseDuration, nil)
}

// PositiveDuration returns name as a Go duration above zero.
func (e *Env) PositiveDuration(name string) time.Duration {
	return read(e, name, "a positive duration such as 30s or 2m", time.ParseDuration, func(d time.Duration) bool { return d > 0 })
}

// PositiveInt returns name as a whole number above zero.
func (e *Env) PositiveInt(name string) int {
	return read(e, name, "a positive whole number", strconv.Atoi, func(n int) bool { return n > 0 })
}

// read parses name with parse; a value parse refuses, or ok (when set)
// rejects, is a problem "<name>: must be <rule>, got <value>" and reads as
// the zero value. Unset reads as the zero value.
func read[T any](e *Env, name, rule string, parse func(string) (T, error), ok func(T) bool) T {
	var zero T
	v := e.getenv(name)
	if v == "" {
		return zero
	}
	x, err := parse(v)
	if err != nil || (ok != nil && !ok(x)) {
		e.errs = append(e.errs, fmt.Errorf("%s: must be %s, got %q", name, rule, v))
		return zero
	}
	return x
}

// Fail records a problem found by the caller (a rule between variables).
func (e *Env) Fail(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

// Err returns every problem met so far, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }
