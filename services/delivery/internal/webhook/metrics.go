package webhook

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/samnav/samnav/pkg/sdk/instrument"
)

// metrics are the dispatcher's instruments:
//
//	samnav.webhook.attempts          counter of attempts, by outcome
//	samnav.webhook.attempt.duration  histogram (s) of attempts, by outcome
//
// outcome is delivered (2xx), retry (failed, tried again later), give_up
// (failed, schedule exhausted) or gone (410, endpoint disabled). An
// attempt cut short by the dispatcher stopping is not counted.
type metrics struct {
	attempts metric.Int64Counter
	duration metric.Float64Histogram
	// byOutcome holds one attribute set per outcome, made once.
	byOutcome map[Outcome]metric.MeasurementOption
}

func newMetrics(mp metric.MeterProvider) (*metrics, error) {
	in := instrument.For(mp, "github.com/samnav/samnav/services/delivery/webhook")
	out := &metrics{
		attempts:  in.Counter("samnav.webhook.attempts", "{attempt}", "Webhook attempts, by outcome: delivered, retry, give_up, gone."),
		duration:  in.Histogram("samnav.webhook.attempt.duration", "s", "Duration of one webhook attempt, connect to last response byte, by outcome."),
		byOutcome: map[Outcome]metric.MeasurementOption{},
	}
	if err := in.Err(); err != nil {
		return nil, err
	}
	for o, name := range map[Outcome]string{OutcomeDelivered: "delivered", OutcomeRetry: "retry", OutcomeGiveUp: "give_up", OutcomeGone: "gone"} {
		out.byOutcome[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", name)))
	}
	return out, nil
}

// record counts one finished attempt.
func (m *metrics) record(ctx context.Context, o Outcome, took time.Duration) {
	attrs, ok := m.byOutcome[o]
	if !ok {
		return // not sent
	}
	m.attempts.Add(ctx, 1, attrs)
	m.duration.Record(ctx, took.Seconds(), attrs)
}
