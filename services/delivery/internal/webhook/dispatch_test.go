package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// A stopping dispatcher drops the leases of the messages it claimed but
// did not finish sending, so the next one sends them at once instead of
// after the lease (here 5*5 s + 30 s, far beyond waitFor's 10 s).
func TestStopReleasesUnsentMessages(t *testing.T) {
	rc := newReceiver(t, nil) // records what arrives once up is closed
	up := make(chan struct{})
	blocked := make(chan struct{}, 1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-up:
			rc.Config.Handler.ServeHTTP(w, r)
			return
		default:
		}
		// Read the body, so the server notices the client going away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case blocked <- struct{}{}:
		default:
		}
		<-r.Context().Done() // never answered: the dispatcher stops meanwhile
	}))
	t.Cleanup(front.Close)
	store := newStore(t)
	cfg := webhook.Config{Store: store, Workers: 1, Timeout: 5 * time.Second, PollInterval: 50 * time.Millisecond,
		Addresses: webhook.AddressPolicy{AllowPrivate: true}, Logger: discard()}
	cfg = projecting(t, cfg)
	svc, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	register(t, svc, front.URL)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Run(ctx) }()
	deliver(t, svc, event("e1", "A", 1), event("e2", "B", 1), event("e3", "C", 1))
	<-blocked // one attempt in flight, the other two claimed behind it
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	close(up)

	next, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { _ = next.Run(ctx2) }()
	waitFor(t, "all three delivered after the restart", func() bool { return len(rc.delivered()) == 3 })
	got := rc.delivered()
	slices.Sort(got)
	if want := []string{"e1", "e2", "e3"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	// The attempt cut short is not in the log; the three that succeeded
	// are (recorded just after they arrived).
	var as []webhook.Attempt
	waitFor(t, "three attempts logged", func() bool {
		as, err = next.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
		return err == nil && len(as) >= 3
	})
	if len(as) != 3 {
		t.Fatalf("%d attempts logged, want 3: %s", len(as), fmt.Sprint(as))
	}
}
