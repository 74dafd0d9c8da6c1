package configtest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/configtest"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(f, args...))
}
func (r *recorder) Fatalf(f string, args ...any) { r.Errorf(f, args...) }

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		want  []string
		fails int
	}{
		{"names all", errors.New("Addr: must be host:port (SAMNAV_X_ADDR)"), []string{"Addr:", "SAMNAV_X_ADDR"}, 0},
		{"misses one", errors.New("Addr: must be host:port"), []string{"Addr:", "SAMNAV_X_ADDR"}, 1},
		{"no error", nil, []string{"Addr:"}, 1},
	} {
		r := &recorder{TB: t}
		configtest.Names(r, tc.err, tc.want...)
		if len(r.failures) != tc.fails {
			t.Errorf("%s: failures %q, want %d", tc.name, r.failures, tc.fails)
		}
	}
}
