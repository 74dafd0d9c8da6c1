// Dispatch: Run claims due messages, attempts them against their endpoints, and records
// the results.

package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/sdk/envelope"
)

// prefetch is how many messages per worker the dispatcher holds claimed
// at most (sending or waiting to send): claiming and finishing in batches
// of that size amortises their durable commits.
const prefetch = 4

// done is the end of one claimed message's turn: its result to record
// (OutcomeNotSent if Run stopped before or during its attempt), or ok
// false when its endpoint could not be read: its lease is then left to
// run out, which spaces out the retries.
type done struct {
	r  Result
	ok bool
}

// Run dispatches queued messages until ctx ends, with at most
// Config.Workers attempts in flight; it returns nil after the attempts in
// flight have ended and been recorded. Several Runs (in one or many
// processes) may share a store: messages are leased, so each is sent by
// one of them at a time. An attempt cut short by ctx is not logged; its
// lease is dropped, as are those of claimed messages not yet attempted, so
// they are sent again at the next start (or by another Run) at once.
//
// One loop claims due messages in batches (one transaction for up to
// prefetch*Workers messages, at most the head of each key, so a key is
// never sent out of order) and records finished attempts in batches: the
// attempts that ended while the last batch was being committed, or within
// lingerFor of the one that woke it, are committed together (one
// transaction, FinishBatch), and only then can the next message of their
// keys be claimed. The sends themselves run
// concurrently, Workers at a time, on kept-alive connections.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	maxClaimed := s.cfg.Workers * prefetch
	// Never full: it holds at most one done per claimed message.
	results := make(chan done, maxClaimed)
	sendSem := make(chan struct{}, s.cfg.Workers)
	// A claimed message may wait behind prefetch-1 rounds of attempts
	// before its own: its lease covers them all.
	lease := time.Duration(prefetch+1)*s.cfg.Timeout + 30*time.Second
	claimed := 0
	var ended []done
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		ended = drain(results, ended)
		if len(ended) > 0 {
			// Attempts that ended are recorded even if Run is stopping.
			s.record(context.WithoutCancel(ctx), ended)
			claimed -= len(ended)
			ended = ended[:0]
		}
		if ctx.Err() != nil {
			break
		}
		wait := s.cfg.PollInterval
		if free := maxClaimed - claimed; free > 0 {
			now := s.cfg.Now()
			msgs, err := s.cfg.Store.Claim(ctx, now, now.Add(lease), free)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.ErrorContext(ctx, "claim webhook messages", "err", err)
			}
			eps := s.endpoints(ctx, msgs)
			for _, m := range msgs {
				claimed++
				ep, ok := eps[m.SubscriptionID]
				wg.Go(func() {
					if !ok {
						if ctx.Err() != nil {
							// Its endpoint could not be read because Run
							// is stopping: not attempted, so released.
							results <- done{r: Result{Message: m, Outcome: OutcomeNotSent}, ok: true}
							return
						}
						results <- done{}
						return
					}
					select {
					case sendSem <- struct{}{}:
					case <-ctx.Done():
						results <- done{r: Result{Message: m, Outcome: OutcomeNotSent}, ok: true}
						return
					}
					r, ok := s.attempt(ctx, ep, m)
					<-sendSem
					results <- done{r: r, ok: ok}
				})
			}
			if len(msgs) == free {
				continue
			}
			if err == nil {
				if t, ok, err := s.cfg.Store.NextDue(ctx); err == nil && ok {
					if d := t.Sub(s.cfg.Now()); d > 0 && d < wait {
						wait = d
					}
				}
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-timer.C:
		case d := <-results:
			ended = append(ended, d)
			ended = linger(results, ended, claimed)
		}
	}
	// Record what ended before the stop, so the log and the queue agree
	// with what the receivers saw.
	wg.Wait()
	ended = drain(results, ended)
	s.record(context.WithoutCancel(ctx), ended)
	return nil
}

// lingerFor is how long the dispatcher, woken by an attempt that ended,
// waits for more to end so it records them in one transaction.
const lingerFor = time.Millisecond

// linger appends to ended what arrives in results within lingerFor, or
// until all claimed messages have ended.
func linger(results <-chan done, ended []done, claimed int) []done {
	t := time.NewTimer(lingerFor)
	defer t.Stop()
	for len(ended) < claimed {
		select {
		case d := <-results:
			ended = append(ended, d)
		case <-t.C:
			return ended
		}
	}
	return ended
}

// drain appends every done waiting in results to ended, without blocking.
func drain(results <-chan done, ended []done) []done {
	for {
		select {
		case d := <-results:
			ended = append(ended, d)
		default:
			return ended
		}
	}
}

// endpoints reads the endpoint of every subscription among msgs once; a
// subscription whose endpoint cannot be read is left out (logged).
func (s *Service) endpoints(ctx context.Context, msgs []Message) map[string]Endpoint {
	eps := map[string]Endpoint{}
	failed := map[string]bool{}
	for _, m := range msgs {
		id := m.SubscriptionID
		if _, ok := eps[id]; ok || failed[id] {
			continue
		}
		ep, err := s.cfg.Store.GetEndpoint(ctx, id)
		if err != nil {
			failed[id] = true
			if ctx.Err() == nil {
				s.cfg.Logger.ErrorContext(ctx, "get webhook endpoint", "subscription", id, "err", err)
			}
			continue // the leases run out and the messages are claimed again
		}
		eps[id] = ep
	}
	return eps
}

// record writes the attempts that ended in one transaction, then logs
// what they decided and disables endpoints failing for too long.
func (s *Service) record(ctx context.Context, ended []done) {
	rs := make([]Result, 0, len(ended))
	for _, d := range ended {
		if d.ok {
			rs = append(rs, d.r)
		}
	}
	if len(rs) == 0 {
		return
	}
	eps, err := s.cfg.Store.FinishBatch(ctx, rs)
	if err != nil {
		// The leases run out and the messages are sent again.
		s.cfg.Logger.ErrorContext(ctx, "record webhook attempts", "attempts", len(rs), "err", err)
		return
	}
	failing := map[string]bool{}
	for _, r := range rs {
		log := s.cfg.Logger.With("subscription", r.Message.SubscriptionID, "message", r.Message.ID, "event", r.Message.EventID)
		switch r.Outcome {
		case OutcomeGone:
			log.WarnContext(ctx, "webhook endpoint answered 410 Gone; disabled", "url", eps[r.Message.SubscriptionID].URL)
		case OutcomeGiveUp:
			log.WarnContext(ctx, "webhook message failed every attempt", "attempts", r.Attempt.N, "err", r.Attempt.Error)
		case OutcomeWithheld:
			log.InfoContext(ctx, "webhook message withheld", "reason", r.Attempt.Error)
		}
		if r.Outcome != OutcomeDelivered && r.Outcome != OutcomeNotSent && r.Outcome != OutcomeWithheld {
			failing[r.Message.SubscriptionID] = true
		}
	}
	for id := range failing {
		ep := eps[id]
		if ep.Status == StatusEnabled && s.cfg.Disable.exceeded(ep, s.cfg.Now()) {
			if err := s.disable(ctx, id, ReasonFailing); err != nil {
				s.cfg.Logger.ErrorContext(ctx, "disable failing webhook endpoint", "subscription", id, "err", err)
			}
		}
	}
}

// attempt projects one claimed message (see project), sends it to ep and
// returns the outcome to record: OutcomeNotSent if ctx cut it short,
// OutcomeWithheld if its subscription no longer delivers, and ok false
// (its lease left to run out) if it could not be projected now.
func (s *Service) attempt(ctx context.Context, ep Endpoint, m Message) (Result, bool) {
	body, why, err := s.project(ctx, m)
	switch {
	case err != nil && ctx.Err() != nil:
		return Result{Message: m, Outcome: OutcomeNotSent}, true
	case err != nil:
		s.cfg.Logger.ErrorContext(ctx, "project webhook message", "subscription", m.SubscriptionID, "message", m.ID, "err", err)
		return Result{}, false
	case why != "":
		return Result{Message: m, Outcome: OutcomeWithheld, Attempt: Attempt{Error: why}}, true
	}
	start := s.cfg.Now()
	a := Attempt{MessageID: m.ID, SubscriptionID: m.SubscriptionID, EventID: m.EventID, N: m.Attempts + 1, Trigger: "scheduled", At: start}
	if m.Manual {
		a.Trigger = "manual"
	}
	code, resp, retryAfter, err := s.send(ctx, ep, m, body, start)
	a.Latency = s.cfg.Now().Sub(start)
	a.StatusCode, a.Response = code, resp
	if err != nil {
		if ctx.Err() != nil {
			return Result{Message: m, Outcome: OutcomeNotSent}, true
		}
		a.Error = err.Error()
	}
	r := Result{Message: m, Attempt: a}
	switch {
	case err == nil && code >= 200 && code < 300:
		r.Outcome = OutcomeDelivered
	case err == nil && code == http.StatusGone:
		r.Outcome = OutcomeGone
		r.Attempt.Error = "410 Gone: the receiver asked to stop"
	case m.Step < len(s.cfg.Schedule):
		if err == nil {
			r.Attempt.Error = fmt.Sprintf("status %d", code)
		}
		r.Outcome = OutcomeRetry
		wait := s.jitter(s.cfg.Schedule[m.Step])
		wait = max(wait, retryAfter)
		// The wait runs from when the attempt failed, not from when it
		// started, so the receiver never sees two attempts closer together
		// than the schedule says, however long the attempt took.
		r.NextAttemptAt, r.NextStep = s.cfg.Now().Add(wait), m.Step+1
	default:
		if err == nil {
			r.Attempt.Error = fmt.Sprintf("status %d", code)
		}
		r.Outcome = OutcomeGiveUp
	}
	s.metrics.record(ctx, r.Outcome, a.Latency)
	return r, true
}

func (s *Service) jitter(d time.Duration) time.Duration {
	if s.cfg.Jitter <= 0 || d <= 0 {
		return d
	}
	f := 1 + s.cfg.Jitter*(2*rand.Float64()-1) //nolint:gosec // G404: spreading retries needs no unpredictability
	return time.Duration(float64(d) * f)
}

// send posts body, the projection of m, to ep, signed over body with
// every active secret at ts. It returns the status, the response's logged
// headers (never its body) and the Retry-After wait of a 429 or 503 (0 if
// none).
func (s *Service) send(ctx context.Context, ep Endpoint, m Message, body []byte, ts time.Time) (int, string, time.Duration, error) {
	secrets := ep.SigningSecrets(ts)
	if len(secrets) == 0 {
		return 0, "", 0, errors.New("the endpoint has no active signing secret")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, fmt.Errorf("build request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", envelope.ContentTypeJSON)
	h.Set("User-Agent", "Samnav-Webhooks/1")
	h.Set(HeaderID, m.EventID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, SignatureHeader(secrets, m.EventID, ts, body))
	envelope.Envelope{TraceParent: m.Trace}.ToHTTPHeaders(h)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", 0, fmt.Errorf("post webhook: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	// The body is read, so the connection can be reused, and never kept: a
	// receiver may echo the payload (personal data) in it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			retryAfter = min(time.Duration(secs)*time.Second, 24*time.Hour)
		}
	}
	return resp.StatusCode, responseHeaders(resp.Header), retryAfter, nil
}

// loggedHeaders are the response headers the delivery log keeps: what
// tells an operator what kind of answer came, and nothing a receiver could
// fill with the payload or a session (no body, no Set-Cookie, no Location).
var loggedHeaders = []string{"Content-Type", "Content-Length", "Retry-After"}

// responseHeaders is the delivery log's record of a response: its
// loggedHeaders, "Name: value" joined by ", ", each value cut at 200 bytes.
func responseHeaders(h http.Header) string {
	var parts []string
	for _, name := range loggedHeaders {
		if v := h.Get(name); v != "" {
			if len(v) > 200 {
				v = v[:200]
			}
			parts = append(parts, name+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}
