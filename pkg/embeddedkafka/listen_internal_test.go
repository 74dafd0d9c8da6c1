package embeddedkafka

import (
	"strings"
	"testing"
)

// Validate refuses a listen address that is not loopback; the bound socket
// is checked too, since the name "localhost" could resolve elsewhere. This
// is the check on the socket: an address that binds every interface is
// refused after binding.
func TestListenRefusesASocketNotOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0"} {
		ln, err := listenLoopback("tcp", addr)
		if err == nil {
			_ = ln.Close()
			t.Errorf("listen on %s: accepted", addr)
			continue
		}
		if !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("listen on %s: %v, want it refused as not loopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := listenLoopback("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		_ = ln.Close()
	}
}
