package pgtest_test

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/pgtest"
)

// TestStart checks that a cluster comes up, listens on 127.0.0.1, and hands
// out distinct databases. The SQL side is exercised by the stores' suites;
// this package deliberately has no driver dependency.
func TestStart(t *testing.T) {
	c := pgtest.Start(t)
	u, err := url.Parse(c.DSN)
	if err != nil {
		t.Fatalf("parse DSN %q: %v", c.DSN, err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("dial %s: %v", u.Host, err)
	}
	_ = conn.Close()
	a, b := c.NewDatabase(t), c.NewDatabase(t)
	if a == b || !strings.HasPrefix(a, "postgres://postgres@127.0.0.1:") {
		t.Fatalf("NewDatabase gave %q and %q; want two distinct 127.0.0.1 DSNs", a, b)
	}
}
