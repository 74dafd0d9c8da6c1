package metered

import (
	"context"
	"errors"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/pipeline"
)

type batcher struct{ err error }

func (b batcher) Deliver(context.Context, client.Subscription, channel.Event) error {
	return b.err
}
func (b batcher) DeliverBatch(context.Context, client.Subscription, []channel.Event) error {
	return b.err
}

// TestWrapCountsPerSubscriptionAndChannel: accepted events, refusals and
// the lag of each delivery's oldest event are recorded by subscription and
// channel; a Batcher stays a Batcher.
func TestWrapCountsPerSubscriptionAndChannel(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	in, err := New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	in.now = func() time.Time { return now }
	ok := in.Wrap(batcher{}, client.ChannelFeed)
	b, isBatcher := ok.(pipeline.Batcher)
	if !isBatcher {
		t.Fatal("a wrapped Batcher is no Batcher")
	}
	sub := client.Subscription{ID: "sub-1"}
	ctx := context.Background()
	evs := []channel.Event{{Time: now.Add(-2 * time.Second)}, {Time: now.Add(-5 * time.Second)}, {Time: now.Add(-time.Second)}}
	if err := b.DeliverBatch(ctx, sub, evs); err != nil {
		t.Fatal(err)
	}
	if err := ok.Deliver(ctx, sub, channel.Event{Time: now}); err != nil {
		t.Fatal(err)
	}
	refusing := in.Wrap(batcher{err: errors.New("down")}, client.ChannelWebhook)
	if err := refusing.Deliver(ctx, sub, channel.Event{Time: now}); err == nil {
		t.Fatal("the refusal was swallowed")
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]map[string]int64{}
	var lagMax float64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				sums[m.Name] = map[string]int64{}
				for _, p := range d.DataPoints {
					s, _ := p.Attributes.Value("subscription")
					c, _ := p.Attributes.Value("channel")
					sums[m.Name][s.AsString()+"/"+c.AsString()] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if v, ok := p.Max.Value(); ok && p.Count == 2 {
						lagMax = v
					}
				}
			}
		}
	}
	if got := sums["samnav.delivery.events"]["sub-1/feed"]; got != 4 {
		t.Errorf("events sub-1/feed = %d, want 4 (%v)", got, sums)
	}
	if got := sums["samnav.delivery.failures"]["sub-1/webhook"]; got != 1 {
		t.Errorf("failures sub-1/webhook = %d, want 1 (%v)", got, sums)
	}
	if lagMax != 5 {
		t.Errorf("lag of the batch = %v, want 5 s (its oldest event)", lagMax)
	}
}

// TestAttributeSetsAreMadeOnce: after the first delivery of a
// subscription on a channel, recording allocates no attribute set.
func TestAttributeSetsAreMadeOnce(t *testing.T) {
	in, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	in.attrSet("sub-1", client.ChannelKafka)
	if n := testing.AllocsPerRun(100, func() { in.attrSet("sub-1", client.ChannelKafka) }); n != 0 {
		t.Errorf("attrSet allocates %v times per call", n)
	}
}
