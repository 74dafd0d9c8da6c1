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

// meter records the counters and float gauges created on it and refuses
// the names in refuse; the other kinds are the no-op meter's.
type meter struct {
	noop.Meter
	refuse  map[string]bool
	created []string
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
