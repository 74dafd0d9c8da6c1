package telemetry

import (
	"fmt"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Instruments makes one package's instruments on one meter and keeps the
// first error, so a constructor lists its instruments one a line and
// checks once (Err) instead of after each: the one way a Samnav package
// registers its metrics. Not safe for concurrent use; it is meant for a
// constructor.
type Instruments struct {
	meter metric.Meter
	err   error
}

// NewInstruments makes instruments on the meter named scope (the
// package's import path) of mp; a nil mp makes no-op instruments, for a
// caller that wants no metrics.
func NewInstruments(mp metric.MeterProvider, scope string) *Instruments {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	return &Instruments{meter: mp.Meter(scope)}
}

// Counter is the monotonic int64 counter name, counting unit (UCUM, e.g.
// "{event}"), described by desc.
func (in *Instruments) Counter(name, unit, desc string) metric.Int64Counter {
	c, err := in.meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	in.keep(name, err)
	return c
}

// UpDownCounter is the int64 counter name that may go down, as Counter.
func (in *Instruments) UpDownCounter(name, unit, desc string) metric.Int64UpDownCounter {
	c, err := in.meter.Int64UpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	in.keep(name, err)
	return c
}

// Histogram is the float64 histogram name, as Counter; bounds, when
// given, are its explicit bucket boundaries (else the SDK's defaults).
func (in *Instruments) Histogram(name, unit, desc string, bounds ...float64) metric.Float64Histogram {
	opts := []metric.Float64HistogramOption{metric.WithUnit(unit), metric.WithDescription(desc)}
	if len(bounds) > 0 {
		opts = append(opts, metric.WithExplicitBucketBoundaries(bounds...))
	}
	h, err := in.meter.Float64Histogram(name, opts...)
	in.keep(name, err)
	return h
}

// Err is the first instrument that could not be made, naming it; nil
// when every one was.
func (in *Instruments) Err() error { return in.err }

func (in *Instruments) keep(name string, err error) {
	if err != nil && in.err == nil {
		in.err = fmt.Errorf("make instrument %s: %w", name, err)
	}
}
