package pipeline

import (
	"context"

	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/channel"
)

// Observer sees every delivery a channel was offered once the channel has
// answered: evs are the events of the call (one for Deliver) and err the
// channel's answer. It must not keep evs.
type Observer func(ctx context.Context, sub client.Subscription, evs []channel.Event, err error)

// Observe returns ch with observe called after each of its deliveries;
// the channel's answer is returned unchanged. The result is a Batcher when
// ch is one, so the pipeline batches as before: the one way a decorator
// (metrics, the recent-deliveries window) wraps a channel.
func Observe(ch channel.Channel, observe Observer) channel.Channel {
	o := observed{ch: ch, observe: observe}
	if b, ok := ch.(Batcher); ok {
		return observedBatcher{observed: o, b: b}
	}
	return o
}

type observed struct {
	ch      channel.Channel
	observe Observer
}

func (o observed) Deliver(ctx context.Context, sub client.Subscription, ev channel.Event) error {
	err := o.ch.Deliver(ctx, sub, ev)
	o.observe(ctx, sub, []channel.Event{ev}, err)
	return err
}

type observedBatcher struct {
	observed
	b Batcher
}

func (o observedBatcher) DeliverBatch(ctx context.Context, sub client.Subscription, evs []channel.Event) error {
	err := o.b.DeliverBatch(ctx, sub, evs)
	o.observe(ctx, sub, evs, err)
	return err
}

var (
	_ channel.Channel = observed{}
	_ Batcher         = observedBatcher{}
)
