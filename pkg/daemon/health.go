package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Check is one dependency /healthz checks.
type Check struct {
	// Name is the key of Detail in the report ("relay", "database").
	Name string
	// Run checks the dependency. It returns what to report under Name (nil
	// for nothing) and the problems found, one line each naming what is
	// wrong; none means healthy. It must return within ctx's deadline.
	Run func(ctx context.Context) (detail any, problems []string)
}

// Pinger is a dependency that answers a ping: *sql.DB, a store.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// PingCheck checks that db answers, reporting a failure as "<name>: err".
func PingCheck(name string, db Pinger) Check {
	return Check{Name: name, Run: func(ctx context.Context) (any, []string) {
		if err := db.PingContext(ctx); err != nil {
			return nil, []string{name + ": " + err.Error()}
		}
		return nil, nil
	}}
}

// Report is what /healthz answers: status "ok" or "degraded", the
// problems found, and each check's detail under its name, beside them.
type Report struct {
	Status   string
	Problems []string
	Details  map[string]any
}

// MarshalJSON writes {"status":..,"problems":[..],"<check>":<detail>,..}.
func (r Report) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Details)+2)
	for k, v := range r.Details {
		m[k] = v
	}
	m["status"] = r.Status
	if len(r.Problems) > 0 {
		m["problems"] = r.Problems
	}
	return json.Marshal(m)
}

// HealthTimeout bounds one /healthz answer.
const HealthTimeout = 5 * time.Second

// Health runs checks one after the other and reports them.
func Health(ctx context.Context, checks []Check) Report {
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	r := Report{Status: "ok", Details: map[string]any{}}
	for _, c := range checks {
		detail, problems := c.Run(ctx)
		if detail != nil {
			r.Details[c.Name] = detail
		}
		r.Problems = append(r.Problems, problems...)
	}
	if len(r.Problems) > 0 {
		r.Status = "degraded"
	}
	return r
}

// healthHandler answers 200 with the Report when every check passes, 503
// when one does not: for readiness and monitoring. Liveness is /livez,
// since restarting heals no missing topic or database.
func healthHandler(checks []Check, logger *slog.Logger) http.Handler {
	logger = Logger(logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := Health(r.Context(), checks)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if rep.Status != "ok" {
			logger.WarnContext(r.Context(), "health check degraded", "problems", len(rep.Problems))
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
}
