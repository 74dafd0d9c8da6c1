// Package configtest checks that a configuration's validation reports
// every problem, each naming its field or environment variable and the
// rule, the way every Samnav configuration promises to: the table of a
// config test runs through Run, and a single error through Names.
package configtest

import (
	"strings"
	"testing"
)

// Case is a configuration and what checking it must report (Valid,
// Invalid).
type Case[C any] struct {
	name   string
	config C
	// want are texts the error must contain, each naming a field or
	// variable and its rule; none means the configuration is valid.
	want []string
}

// Valid is a case whose configuration must pass.
func Valid[C any](name string, config C) Case[C] { return Case[C]{name: name, config: config} }

// Invalid is a case whose configuration must be refused with an error
// containing every one of want.
func Invalid[C any](name string, config C, want ...string) Case[C] {
	return Case[C]{name: name, config: config, want: want}
}

// Run runs each case as a subtest: check must return nil for a Valid
// case, and for an Invalid one an error containing every text it wants. No error
// may contain any of hidden (secrets a case carries, such as a password
// in a database URL).
func Run[C any](t *testing.T, cases []Case[C], check func(t *testing.T, c C) error, hidden ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := check(t, tc.config)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want it valid", err)
				}
				return
			}
			Names(t, err, tc.want...)
			for _, h := range hidden {
				if h != "" && strings.Contains(err.Error(), h) {
					t.Errorf("%q shows %q", err, h)
				}
			}
		})
	}
}

// Validate is the check of a configuration type with a Validate method,
// for Run.
func Validate[C interface{ Validate() error }](_ *testing.T, c C) error { return c.Validate() }

// Names fails t unless err is an error whose text contains every one of
// want (field or variable names and rules).
func Names(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one naming %q", want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not name %q", err, w)
		}
	}
}
