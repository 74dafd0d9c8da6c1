package feed

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// metrics are the pull feed's instruments:
//
//	samnav.feed.readers   long polls waiting now (GET .../changes with wait)
//	samnav.feed.entries   counter of items served, by endpoint (snapshot, changes)
type metrics struct {
	readers metric.Int64UpDownCounter
	entries metric.Int64Counter
	// snapshot and changes are the endpoint attribute sets, made once.
	snapshot, changes metric.MeasurementOption
}

func newMetrics(mp metric.MeterProvider) (*metrics, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/samnav/samnav/services/delivery/feed")
	out := &metrics{
		snapshot: metric.WithAttributeSet(attribute.NewSet(attribute.String("endpoint", "snapshot"))),
		changes:  metric.WithAttributeSet(attribute.NewSet(attribute.String("endpoint", "changes"))),
	}
	var err error
	if out.readers, err = m.Int64UpDownCounter("samnav.feed.readers", metric.WithUnit("{request}"),
		metric.WithDescription("Pull-feed readers waiting in a long poll now.")); err != nil {
		return nil, err
	}
	if out.entries, err = m.Int64Counter("samnav.feed.entries", metric.WithUnit("{item}"),
		metric.WithDescription("Pull-feed items served, by endpoint (snapshot, changes).")); err != nil {
		return nil, err
	}
	return out, nil
}

// waiting counts a reader into a long poll; the returned func counts it out.
func (m *metrics) waiting(ctx context.Context) func() {
	m.readers.Add(ctx, 1)
	return func() { m.readers.Add(context.WithoutCancel(ctx), -1) }
}
