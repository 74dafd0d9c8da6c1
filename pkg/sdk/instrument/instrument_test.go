package instrument_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/samnav/samnav/pkg/sdk/instrument"
)

// meter records the counters, up-down counters and float gauges created
// on it and refuses the names in refuse, and keeps each histogram's
// bounds; the other kinds are the no-op meter's.
type meter struct {
	noop.Meter
	refuse  map[string]bool
	created []string
	bounds  [][]float64
}

func (m *meter) check(name string, cfg interface{ Unit() string }) error {
	m.created = append(m.created, name+" "+cfg.Unit())
	if m.refuse[name] {
		return errors.New("refused")
	}
	return nil
}

func (m *meter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c, _ := m.Meter.Int64Counter(name)
	return c, m.check(name, metric.NewInt64CounterConfig(opts...))
}

func (m *meter) Float64ObservableGauge(name string, opts ...metric.Float64ObservableGaugeOption) (metric.Float64ObservableGauge, error) {
	g, _ := m.Meter.Float64ObservableGauge(name)
	return g, m.check(name, metric.NewFloat64ObservableGaugeConfig(opts...))
}

func (m *meter) Int64UpDownCounter(name string, opts ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	c, _ := m.Meter.Int64UpDownCounter(name)
	return c, m.check(name, metric.NewInt64UpDownCounterConfig(opts...))
}

func (m *meter) Float64Histogram(name string, opts ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	h, _ := m.Meter.Float64Histogram(name)
	m.bounds = append(m.bounds, metric.NewFloat64HistogramConfig(opts...).ExplicitBucketBoundaries())
	return h, nil
}

// TestUpDownCounterAndHistogramBounds: an up-down counter is created with
// its unit and its failure reported; a histogram's bounds reach the
// meter, and one without bounds leaves them to the SDK.
func TestUpDownCounterAndHistogramBounds(t *testing.T) {
	m := &meter{refuse: map[string]bool{"e.waiting": true}}
	s := instrument.New(m)
	s.UpDownCounter("e.waiting", "{request}", "E.")
	s.Histogram("f.lag", "s", "F.", 0.5, 1, 10)
	s.Histogram("g.plain", "s", "G.")
	if got, want := strings.Join(m.created, ","), "e.waiting {request}"; got != want {
		t.Errorf("created %q, want %q", got, want)
	}
	if len(m.bounds) != 2 || len(m.bounds[0]) != 3 || m.bounds[0][2] != 10 || m.bounds[1] != nil {
		t.Errorf("bounds %v, want [[0.5 1 10] []]", m.bounds)
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "create metric e.waiting: refused") {
		t.Errorf("Err() = %v, want the up-down counter's refusal", err)
	}
	if err := instrument.For(nil, "x").Err(); err != nil {
		t.Errorf("For(nil): Err() = %v", err)
	}
}

func TestSetCreatesEveryInstrumentAndReportsEveryFailure(t *testing.T) {
	m := &meter{refuse: map[string]bool{"a.counter": true, "d.gauge": true}}
	s := instrument.New(m)
	c := s.Counter("a.counter", "{entry}", "A.")
	h := s.Histogram("b.histogram", "s", "B.")
	s.Int64Gauge("c.gauge", "{entry}", "C.", func(context.Context, metric.Int64Observer) error { return nil })
	s.Float64Gauge("d.gauge", "s", "D.", func(context.Context, metric.Float64Observer) error { return nil })
	if c == nil || h == nil {
		t.Fatal("a created or refused instrument must be usable")
	}
	if got, want := strings.Join(m.created, ","), "a.counter {entry},d.gauge s"; got != want {
		t.Errorf("created %q, want %q", got, want)
	}
	err := s.Err()
	if err == nil || !strings.Contains(err.Error(), "create metric a.counter: refused") || !strings.Contains(err.Error(), "create metric d.gauge: refused") {
		t.Errorf("Err() = %v, want both refusals named", err)
	}
	if err := instrument.New(&meter{}).Err(); err != nil {
		t.Errorf("nothing created: Err() = %v", err)
	}
}
