package daemon

import (
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
)

// TestRequestAttributeSetsAreMadeOnce: after the first request of a
// route, method and status, recording allocates no attribute set.
func TestRequestAttributeSetsAreMadeOnce(t *testing.T) {
	m := newHTTPMetrics(noop.NewMeterProvider())
	m.attrSet("GET /api/v1/{concept}", "GET", 200)
	if n := testing.AllocsPerRun(100, func() { m.attrSet("GET /api/v1/{concept}", "GET", 200) }); n != 0 {
		t.Errorf("attrSet allocates %v times per call", n)
	}
}
