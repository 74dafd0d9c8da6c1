package feed

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/pkg/sdk/instrument"
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
	in := instrument.For(mp, "github.com/samnav/samnav/services/delivery/feed")
	out := &metrics{
		readers:  in.UpDownCounter("samnav.feed.readers", "{request}", "Pull-feed readers waiting in a long poll now."),
		entries:  in.Counter("samnav.feed.entries", "{item}", "Pull-feed items served, by endpoint (snapshot, changes)."),
		snapshot: metric.WithAttributeSet(attribute.NewSet(attribute.String("endpoint", "snapshot"))),
		changes:  metric.WithAttributeSet(attribute.NewSet(attribute.String("endpoint", "changes"))),
	}
	if err := in.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// waiting counts a reader into a long poll; the returned func counts it out.
func (m *metrics) waiting(ctx context.Context) func() {
	m.readers.Add(ctx, 1)
	return func() { m.readers.Add(context.WithoutCancel(ctx), -1) }
}
