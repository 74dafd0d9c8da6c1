package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// accessLog logs every request next serves at debug level, as "http
// request" with its method, path, status and duration. The query string
// is left out: a query may carry what a form or a client put there (a
// search, a filter), and personal data must never reach a log line. The
// path is logged as it came; the APIs keep personal data out of paths
// (master data refuses a GET whose path or query holds a personal value).
//
// Before serving, it hands the request to the observer of the server's
// context (ObserveRequests), if any.
func accessLog(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o, ok := r.Context().Value(observerKey{}).(func(*http.Request)); ok {
			o(r)
		}
		if !logger.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			logger.DebugContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path, "status", status, "duration", time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

type observerKey struct{}

// ObserveRequests returns ctx carrying observe: every server that Serve
// or a Lifecycle started under the returned context (or one derived from
// it) calls observe with each request it receives, before serving it,
// query string included. It is how a test sees every request line that
// reached the hub (to check that none carries personal data); observe
// must be safe for concurrent use and must not keep r.
func ObserveRequests(ctx context.Context, observe func(r *http.Request)) context.Context {
	return context.WithValue(ctx, observerKey{}, observe)
}
