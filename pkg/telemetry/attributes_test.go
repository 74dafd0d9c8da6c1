package telemetry_test

import (
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/samnav/samnav/pkg/telemetry"
)

func TestAttributesBuildsEachSetOnceAndRecordsWithoutAllocating(t *testing.T) {
	var built atomic.Int32
	attrs := telemetry.NewAttributes(func(route string) attribute.Set {
		built.Add(1)
		return attribute.NewSet(attribute.String("http.route", route))
	})
	a, b := attrs.For("GET /a"), attrs.For("GET /b")
	if attrs.For("GET /a") != a || attrs.For("GET /b") != b {
		t.Error("For returned another option for a key it has seen")
	}
	if n := built.Load(); n != 2 {
		t.Errorf("built %d sets for 2 keys", n)
	}
	if n := testing.AllocsPerRun(100, func() { attrs.For("GET /a") }); n != 0 {
		t.Errorf("For of a seen key allocates %v times per call", n)
	}
}
