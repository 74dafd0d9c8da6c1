package httpapi

import (
	"context"

	"github.com/go-kit/kit/endpoint"

	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/kafkaview"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

type idRequest struct{ ID string }

type decisionRequest struct {
	ID       string
	Decision client.Decision
}

type listRequest struct{ Filter subscription.Filter }

// Endpoints are the subscription API's go-kit endpoints.
type Endpoints struct {
	Request, Get, List, History, Approve, Reject, Revoke, ACLs endpoint.Endpoint
}

// MakeEndpoints wraps svc. bootstrap is the Kafka address the ACL
// commands name.
func MakeEndpoints(svc subscription.Service, bootstrap string) Endpoints {
	return Endpoints{
		Request: func(ctx context.Context, r any) (any, error) { return svc.Request(ctx, r.(client.Request)) },
		Get:     func(ctx context.Context, r any) (any, error) { return svc.Get(ctx, r.(idRequest).ID) },
		List: func(ctx context.Context, r any) (any, error) {
			page, err := svc.List(ctx, r.(listRequest).Filter)
			if err != nil {
				return nil, err
			}
			return client.SubscriptionPage{Subscriptions: page.Subscriptions, Next: paging.Cursor(page.Next)}, nil
		},
		History: func(ctx context.Context, r any) (any, error) {
			h, err := svc.History(ctx, r.(idRequest).ID)
			return client.History{Changes: h}, err
		},
		Approve: func(ctx context.Context, r any) (any, error) {
			d := r.(decisionRequest)
			return svc.Approve(ctx, d.ID, d.Decision)
		},
		Reject: func(ctx context.Context, r any) (any, error) {
			d := r.(decisionRequest)
			return svc.Reject(ctx, d.ID, d.Decision.Reason)
		},
		Revoke: func(ctx context.Context, r any) (any, error) {
			d := r.(decisionRequest)
			return svc.Revoke(ctx, d.ID, d.Decision.Reason)
		},
		ACLs: func(ctx context.Context, r any) (any, error) {
			s, err := svc.Get(ctx, r.(idRequest).ID)
			if err != nil {
				return nil, err
			}
			if s.Channel != client.ChannelKafka {
				return nil, apierr.Errorf(apierr.CodeInvalid, "subscription %q uses channel %s: Kafka ACLs apply to channel kafka only", s.ID, s.Channel)
			}
			acls := kafkaview.ACLs(s)
			return client.ACLs{Topic: kafkaview.Topic(s), ACLs: acls, Commands: kafkaview.Commands(bootstrap, acls)}, nil
		},
	}
}
