// Package instrument creates a component's OpenTelemetry instruments on
// one meter, each from its name, unit and description, and keeps every
// creation error, so a constructor creates all of its instruments and
// checks once (Err). It is the one way the hub's components and the SDK
// declare their metrics.
package instrument

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Set creates instruments on one meter. It is not safe for concurrent
// use; the instruments it returns are.
type Set struct {
	meter metric.Meter
	errs  []error
}

// New returns a Set creating instruments on meter.
func New(meter metric.Meter) *Set { return &Set{meter: meter} }

// For returns a Set creating instruments on the meter named scope (the
// component's import path) of mp; a nil mp creates no-op instruments, for
// a component its caller wants no metrics of.
func For(mp metric.MeterProvider, scope string) *Set {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	return New(mp.Meter(scope))
}

// keep records err, naming the instrument it came from. A failed creation
// still returns a usable (no-op) instrument, as the OpenTelemetry API
// promises, so the caller may go on and report Err once.
func (s *Set) keep(name string, err error) {
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("create metric %s: %w", name, err))
	}
}

// Counter creates an Int64Counter; unit is UCUM ("{entry}", "s"), "" for
// none.
func (s *Set) Counter(name, unit, description string) metric.Int64Counter {
	c, err := s.meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(description))
	s.keep(name, err)
	return c
}

// UpDownCounter creates an Int64UpDownCounter, a count that may go down
// (readers waiting now).
func (s *Set) UpDownCounter(name, unit, description string) metric.Int64UpDownCounter {
	c, err := s.meter.Int64UpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(description))
	s.keep(name, err)
	return c
}

// Histogram creates a Float64Histogram; bounds, when given, are its
// explicit bucket boundaries (else the SDK's defaults).
func (s *Set) Histogram(name, unit, description string, bounds ...float64) metric.Float64Histogram {
	opts := []metric.Float64HistogramOption{metric.WithUnit(unit), metric.WithDescription(description)}
	if len(bounds) > 0 {
		opts = append(opts, metric.WithExplicitBucketBoundaries(bounds...))
	}
	h, err := s.meter.Float64Histogram(name, opts...)
	s.keep(name, err)
	return h
}

// Int64Gauge creates an Int64ObservableGauge whose value observe reports
// at each collection.
func (s *Set) Int64Gauge(name, unit, description string, observe metric.Int64Callback) {
	_, err := s.meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(description), metric.WithInt64Callback(observe))
	s.keep(name, err)
}

// Float64Gauge creates a Float64ObservableGauge whose value observe
// reports at each collection.
func (s *Set) Float64Gauge(name, unit, description string, observe metric.Float64Callback) {
	_, err := s.meter.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(description), metric.WithFloat64Callback(observe))
	s.keep(name, err)
}

// Err reports every instrument that could not be created, nil when all
// were.
func (s *Set) Err() error { return errors.Join(s.errs...) }
