package telemetry_test

import (
	"context"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/samnav/samnav/pkg/telemetry"
)

// TestInstrumentsMakeWhatTheyName: each kind is made with its name, unit,
// description and (for a histogram) bounds, and records on the provider.
func TestInstrumentsMakeWhatTheyName(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	in := telemetry.NewInstruments(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), "example.com/test")
	in.Counter("test.events", "{event}", "Events.").Add(ctx, 2)
	in.UpDownCounter("test.waiting", "{request}", "Waiting.").Add(ctx, -1)
	in.Histogram("test.lag", "s", "Lag.", 1, 10).Record(ctx, 5)
	if err := in.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "example.com/test" {
			t.Errorf("scope %q, want example.com/test", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	for name, want := range map[string][2]string{"test.events": {"{event}", "Events."}, "test.waiting": {"{request}", "Waiting."}, "test.lag": {"s", "Lag."}} {
		if m, ok := got[name]; !ok || m.Unit != want[0] || m.Description != want[1] {
			t.Errorf("%s = %+v, want unit %q description %q", name, m, want[0], want[1])
		}
	}
	if s, ok := got["test.events"].Data.(metricdata.Sum[int64]); !ok || !s.IsMonotonic || s.DataPoints[0].Value != 2 {
		t.Errorf("test.events data = %+v, want a monotonic sum of 2", got["test.events"].Data)
	}
	if s, ok := got["test.waiting"].Data.(metricdata.Sum[int64]); !ok || s.IsMonotonic || s.DataPoints[0].Value != -1 {
		t.Errorf("test.waiting data = %+v, want a non-monotonic sum of -1", got["test.waiting"].Data)
	}
	if h, ok := got["test.lag"].Data.(metricdata.Histogram[float64]); !ok || len(h.DataPoints[0].Bounds) != 2 || h.DataPoints[0].Bounds[1] != 10 {
		t.Errorf("test.lag data = %+v, want a histogram with bounds [1 10]", got["test.lag"].Data)
	}
}

// TestInstrumentsKeepTheFirstError: an instrument the SDK refuses makes
// Err name it, and a later refusal does not replace it.
func TestInstrumentsKeepTheFirstError(t *testing.T) {
	in := telemetry.NewInstruments(sdkmetric.NewMeterProvider(), "example.com/test")
	in.Counter("ok.events", "{event}", "Fine.")
	in.Counter("1st-bad name", "{event}", "Refused: starts with a digit.")
	in.Histogram("2nd-bad name", "s", "Refused too.")
	if err := in.Err(); err == nil || !strings.Contains(err.Error(), "1st-bad name") {
		t.Fatalf("Err = %v, want one naming 1st-bad name", err)
	}
	if err := telemetry.NewInstruments(nil, "x").Err(); err != nil {
		t.Errorf("no-op instruments: Err = %v", err)
	}
}
