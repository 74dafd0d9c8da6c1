// Package metered measures what the delivery pipeline hands to each
// channel, per subscription and channel, with OpenTelemetry instruments:
//
//	samnav.delivery.events     counter of events a channel accepted
//	samnav.delivery.failures   counter of deliveries a channel refused (offered again)
//	samnav.delivery.lag        histogram (s): from the master's commit (ce_time)
//	                           to the channel's acceptance, of the oldest event
//	                           of each delivery; during a snapshot it is the
//	                           age of the records being caught up
//
// with attributes subscription (the opaque id) and channel (kafka,
// webhook, feed). Subscriptions are few (hundreds), so the attribute sets
// are made once per subscription and channel and reused: a delivery
// records without allocating.
package metered

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/pkg/sdk/instrument"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
)

// Instruments are the delivery metrics of one meter provider; share one
// between the wrapped channels.
type Instruments struct {
	events   metric.Int64Counter
	failures metric.Int64Counter
	lag      metric.Float64Histogram
	now      func() time.Time
	attrs    *telemetry.Attributes[attrKey]
}

type attrKey struct {
	sub  string
	kind client.ChannelKind
}

// New creates the instruments on mp (nil: no metrics).
func New(mp metric.MeterProvider) (*Instruments, error) {
	m := instrument.For(mp, "github.com/samnav/samnav/services/delivery")
	in := &Instruments{
		events: m.Counter("samnav.delivery.events", "{event}",
			"Events a channel accepted for a subscription (written to the view topic, queued for the webhook, appended to the feed)."),
		failures: m.Counter("samnav.delivery.failures", "{delivery}", "Deliveries a channel refused; the pipeline offers them again."),
		lag: m.Histogram("samnav.delivery.lag", "s",
			"Time from the master's commit of a change to a channel's acceptance of it, of the oldest event of each delivery.",
			0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400),
		now: time.Now,
		attrs: telemetry.NewAttributes(func(k attrKey) attribute.Set {
			return attribute.NewSet(attribute.String("subscription", k.sub), attribute.String("channel", string(k.kind)))
		}),
	}
	if err := m.Err(); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *Instruments) attrSet(sub string, kind client.ChannelKind) metric.MeasurementOption {
	return in.attrs.For(attrKey{sub, kind})
}

func (in *Instruments) record(ctx context.Context, sub string, kind client.ChannelKind, n int, oldest time.Time, err error) {
	attrs := in.attrSet(sub, kind)
	if err != nil {
		if ctx.Err() == nil { // a subscription stopping is no failure
			in.failures.Add(ctx, 1, attrs)
		}
		return
	}
	in.events.Add(ctx, int64(n), attrs)
	if !oldest.IsZero() {
		in.lag.Record(ctx, max(in.now().Sub(oldest).Seconds(), 0), attrs)
	}
}

// Wrap returns ch measured by in as channel kind. The result is a
// pipeline.Batcher when ch is one, so the pipeline batches as before.
func (in *Instruments) Wrap(ch channel.Channel, kind client.ChannelKind) channel.Channel {
	return pipeline.Observe(ch, func(ctx context.Context, sub client.Subscription, evs []channel.Event, err error) {
		var oldest time.Time
		for i := range evs {
			if t := evs[i].Time; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
				oldest = t
			}
		}
		in.record(ctx, sub.ID, kind, len(evs), oldest, err)
	})
}
