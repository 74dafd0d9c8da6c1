package outbox_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/samnav/samnav/pkg/outbox"
)

// TestMetrics: published entries are counted, lag is observed, and publish
// latency recorded, through the MeterProvider given.
func TestMetrics(t *testing.T) {
	s := sqliteStore()
	const tp = "samnav.metrics.v1"
	db, b := s.openWithBroker(t, topic(tp, 1))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cfg := outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "metrics",
		PollInterval: 5 * time.Millisecond, MeterProvider: mp}
	for i := range 10 {
		appendTx(t, db, s.dialect, entry(tp, i, i, []byte("v")))
	}
	stop, _ := startRelay(t, cfg)
	r, err := outbox.NewRelay(outbox.RelayConfig{DB: db, Dialect: s.dialect, Brokers: []string{b.Addr()}, Name: "metrics"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "lag 0", lagIs(t, r, 0))
	stop()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	if sum, ok := got["samnav.outbox.published"].(metricdata.Sum[int64]); !ok || len(sum.DataPoints) != 1 || sum.DataPoints[0].Value != 10 {
		t.Errorf("samnav.outbox.published = %+v, want one point of 10", got["samnav.outbox.published"])
	}
	// Each acknowledged write is one batch, and one batch records one
	// latency point: as many batches as latency points, at least one.
	h, _ := got["samnav.outbox.latency"].(metricdata.Histogram[float64])
	if sum, ok := got["samnav.outbox.batches"].(metricdata.Sum[int64]); !ok || len(sum.DataPoints) != 1 || len(h.DataPoints) != 1 ||
		sum.DataPoints[0].Value < 1 || uint64(sum.DataPoints[0].Value) != h.DataPoints[0].Count {
		t.Errorf("samnav.outbox.batches = %+v, want one point counting the %+v latency records", got["samnav.outbox.batches"], h)
	}
	if g, ok := got["samnav.outbox.lag"].(metricdata.Gauge[int64]); !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value != 0 {
		t.Errorf("samnav.outbox.lag = %+v, want one point of 0", got["samnav.outbox.lag"])
	}
	if h, ok := got["samnav.outbox.latency"].(metricdata.Histogram[float64]); !ok || len(h.DataPoints) != 1 || h.DataPoints[0].Count == 0 {
		t.Errorf("samnav.outbox.latency = %+v, want recorded points", got["samnav.outbox.latency"])
	}
}
