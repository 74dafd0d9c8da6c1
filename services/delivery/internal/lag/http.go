package lag

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/services/delivery/client"
)

// HandlerConfig configures Handler.
type HandlerConfig struct {
	Meter *Meter
	// Subscription returns the subscription id names as the caller in ctx
	// may read it (subscription.Service.Get): the lag API answers exactly
	// whom GET /subscriptions/{id} answers.
	Subscription func(ctx context.Context, id string) (client.Subscription, error)
	// Group names a subscription's consumer group (pipeline.ConsumerGroup).
	Group func(subscriptionID string) string
	// Failing says why an approved subscription is not delivering (its
	// start or rebuild was refused and is retried with backoff), or nil;
	// nil Failing means never.
	Failing func(subscriptionID string) error
	Logger  *slog.Logger
}

// ChannelLag and Response (the body of GET
// /api/v1/subscriptions/{id}/lag) are wire types of the typed client.
type (
	ChannelLag = client.ChannelLag
	Response   = client.Lag
)

// Handler serves GET /api/v1/subscriptions/{id}/lag. It expects to be
// mounted behind the API's authentication.
func Handler(cfg HandlerConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := cfg.Subscription(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, cfg.Logger, err)
			return
		}
		rep, err := cfg.Meter.Measure(r.Context(), Topic(sub), cfg.Group(sub.ID))
		if errors.Is(err, ErrNoTopic) {
			fail(w, r, cfg.Logger, apierr.Errorf(apierr.CodeUnavailable, "state topic of %s v%d does not exist yet", sub.Concept, sub.Major))
			return
		}
		if err != nil {
			fail(w, r, cfg.Logger, &apierr.Error{Code: apierr.CodeUnavailable, Message: "measure lag", Err: err})
			return
		}
		resp := Response{Subscription: sub.ID, Status: sub.Status,
			Channels: []ChannelLag{{Channel: sub.Channel, Stage: "pipeline", LagReport: rep}}}
		if cfg.Failing != nil {
			if ferr := cfg.Failing(sub.ID); ferr != nil {
				resp.Failing = ferr.Error()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

// Topic is the state topic a subscription's pipeline reads,
// envelope.StateTopic.
func Topic(sub client.Subscription) string {
	return envelope.StateTopic(sub.Concept, sub.Major)
}

// fail answers err through apierr, logging a 5xx with its cause.
func fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	apierr.NewWriter(logger).Write(w, r, err)
}
