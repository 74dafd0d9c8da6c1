package recent

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
)

// Limits of GET /api/v1/deliveries/recent.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	MaxWait      = 30 * time.Second
)

// Response is the body of GET /api/v1/deliveries/recent.
type Response = client.RecentDeliveries

// Visible reports whether p may see d: an admin or auditor sees every
// delivery; the concept's information owner and its stewards see the
// concept's; a system (a subscriber or publisher grant, or a principal
// of kind system) sees only its own. These are the rules by which they
// may read the subscriptions themselves.
func Visible(p *auth.Principal, d Delivery) bool {
	if p == nil {
		return false
	}
	if p.Can(auth.ActionAdmin, "") || p.Can(auth.ActionApprove, d.Concept) {
		return true
	}
	if sys := subscription.SystemOf(p); sys != "" {
		return sys == d.System
	}
	return p.Can(auth.ActionRead, d.Concept)
}

// Handler serves GET /api/v1/deliveries/recent?after=<seq>&limit=<n>&wait=<seconds>
// from r, each caller seeing only what Visible allows. wait (at most
// MaxWait) holds the answer until something newer than after arrives.
// It expects to be mounted behind the API's authentication.
func Handler(r *Ring) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := auth.FromContext(req.Context())
		if p == nil {
			apierr.Write(w, req, apierr.Unauthorized("this operation needs an API token"))
			return
		}
		q := req.URL.Query()
		var fields []apierr.FieldError
		after, err := uintParam(q.Get("after"), 0)
		if err != nil {
			fields = append(fields, apierr.FieldError{Field: "after", Rule: "type", Message: "must be a whole number, the next of an earlier answer"})
		}
		limit, err := intParam(q.Get("limit"), DefaultLimit)
		if err != nil || limit < 1 || limit > MaxLimit {
			fields = append(fields, apierr.FieldError{Field: "limit", Rule: "range", Message: "must be a whole number from 1 to " + strconv.Itoa(MaxLimit)})
		}
		maxWait := int(MaxWait / time.Second)
		waitSecs, err := intParam(q.Get("wait"), 0)
		if err != nil || waitSecs < 0 || waitSecs > maxWait {
			fields = append(fields, apierr.FieldError{Field: "wait", Rule: "range", Message: "must be a whole number of seconds from 0 to " + strconv.Itoa(maxWait)})
		}
		wait := time.Duration(waitSecs) * time.Second
		if len(fields) > 0 {
			apierr.Write(w, req, apierr.Invalid("invalid query", fields...))
			return
		}
		keep := func(d Delivery) bool { return Visible(p, d) }
		ds, next := r.After(after, limit, keep)
		if len(ds) == 0 && wait > 0 {
			ctx, cancel := context.WithTimeout(req.Context(), wait)
			defer cancel()
			// A draining server answers waiting readers at once.
			go func() {
				select {
				case <-daemon.Draining(ctx):
					cancel()
				case <-ctx.Done():
				}
			}()
			for len(ds) == 0 && ctx.Err() == nil {
				r.Wait(ctx, next)
				ds, next = r.After(next, limit, keep)
			}
		}
		if ds == nil {
			ds = []Delivery{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(Response{Deliveries: ds, Next: next})
	})
}

func uintParam(s string, def uint64) (uint64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// intParam parses a small whole number (at most 32 bits, so no
// conversion overflows).
func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	return int(n), err
}
