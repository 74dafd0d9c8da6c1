package httpapi

import (
	"context"
	"fmt"

	"github.com/go-kit/kit/endpoint"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/paging"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/masterdata/client"
	"github.com/samnav/samnav/services/masterdata/record"
)

type createRequest struct {
	Concept string
	State   map[string]any
	Reason  string
}

type updateRequest struct {
	Concept, ID string
	Revision    int64
	State       map[string]any
	Reason      string
}

type endRequest struct {
	Concept, ID string
	Revision    int64
	Reason      string
}

type getRequest struct{ Concept, ID string }

type naturalKeyRequest struct{ Concept, Attribute, Value string }

type listRequest struct {
	Concept string
	Query   record.ListQuery
}

type eraseRequest struct{ Concept, ID, Reason string }

// recordResponse is a record as the API shows it; status is the HTTP
// status of a success.
type recordResponse struct {
	rec    *client.Record
	status int
}

type listResponse struct {
	Records []*client.Record `json:"records"`
	Next    string           `json:"next,omitempty"`
}

type readsResponse struct {
	Reads []client.Read `json:"reads"`
}

// Endpoints are the API's operations, one go-kit endpoint each.
type Endpoints struct {
	Create, Update, End, Get, ByNaturalKey, List, History, Reads, Erase, Publish endpoint.Endpoint
}

// MakeEndpoints binds the endpoints to svc.
func MakeEndpoints(svc record.Service, m *model.Model, pub *Publisher) Endpoints {
	return Endpoints{
		Create: answersRecord(201, func(ctx context.Context, r createRequest) (*client.Record, error) {
			return svc.Create(ctx, r.Concept, r.State, r.Reason)
		}),
		Update: answersRecord(200, func(ctx context.Context, r updateRequest) (*client.Record, error) {
			return svc.Update(ctx, r.Concept, r.ID, r.Revision, r.State, r.Reason)
		}),
		End: answersRecord(200, func(ctx context.Context, r endRequest) (*client.Record, error) {
			return svc.End(ctx, r.Concept, r.ID, r.Revision, r.Reason)
		}),
		Get: answersRecord(200, func(ctx context.Context, r getRequest) (*client.Record, error) {
			return svc.Get(ctx, r.Concept, r.ID)
		}),
		ByNaturalKey: answersRecord(200, func(ctx context.Context, r naturalKeyRequest) (*client.Record, error) {
			return svc.GetByNaturalKey(ctx, r.Concept, r.Attribute, r.Value)
		}),
		List: func(ctx context.Context, req any) (any, error) {
			r := req.(listRequest)
			page, err := svc.List(ctx, r.Concept, r.Query)
			if err != nil {
				return nil, err
			}
			return listResponse{Records: page.Records, Next: paging.Cursor(page.Next)}, nil
		},
		History: func(ctx context.Context, req any) (any, error) {
			r := req.(getRequest)
			h, err := svc.History(ctx, r.Concept, r.ID)
			return client.History{Changes: h}, err
		},
		Reads: func(ctx context.Context, req any) (any, error) {
			r := req.(getRequest)
			reads, err := svc.ReadsOf(ctx, r.Concept, r.ID)
			return readsResponse{reads}, err
		},
		Erase: answersRecord(200, func(ctx context.Context, r eraseRequest) (*client.Record, error) {
			e, ok := svc.(record.Eraser)
			if !ok {
				return nil, fmt.Errorf("erase: %w", apierr.Errorf(apierr.CodeInternal, "this service cannot erase"))
			}
			return e.Erase(ctx, r.Concept, r.ID, r.Reason)
		}),
		Publish: func(ctx context.Context, req any) (any, error) {
			return pub.Publish(ctx, req.(publishRequest))
		},
	}
}

// answersRecord is the endpoint of an operation on one record: call gets
// the decoded request R, and the record it returns is answered with
// status.
func answersRecord[R any](status int, call func(context.Context, R) (*client.Record, error)) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		rec, err := call(ctx, req.(R))
		return recordResponse{rec, status}, err
	}
}
