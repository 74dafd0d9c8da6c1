package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/internal/channel"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

func TestSignaturesVerifyWithReferenceLibrary(t *testing.T) {
	rc := newReceiver(t, nil)
	svc := start(t, webhook.Config{})
	oldSecret := register(t, svc, rc.URL+"/hook")
	deliver(t, svc, event("evt1", "p1", 1))
	waitFor(t, "first delivery", func() bool { return len(rc.delivered()) == 1 })

	newSecret, until, err := svc.RotateSecret(context.Background(), sub1.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(until); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("old secret signs until %v, want in an hour", until)
	}
	erased := event("evt2", "p1", 2)
	erased.Type, erased.State, erased.Source = channel.TypeErased, nil, nil
	deliver(t, svc, erased)
	waitFor(t, "second delivery", func() bool { return len(rc.delivered()) == 2 })

	stranger, _ := webhook.GenerateSecret()
	got := rc.requests()
	tests := []struct {
		name    string
		req     received
		secret  webhook.Secret
		wantErr bool
	}{
		{"before rotation, old secret", got[0], oldSecret, false},
		{"before rotation, new secret", got[0], newSecret, true},
		{"during overlap, old secret", got[1], oldSecret, false},
		{"during overlap, new secret", got[1], newSecret, false},
		{"during overlap, unrelated secret", got[1], stranger, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh, err := standardwebhooks.NewWebhook(tt.secret.String())
			if err != nil {
				t.Fatal(err)
			}
			err = wh.Verify(tt.req.Body, tt.req.Header)
			if (err != nil) != tt.wantErr {
				t.Fatalf("verify: %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if n := len(strings.Fields(got[1].Header.Get(webhook.HeaderSignature))); n != 2 {
		t.Errorf("%d signatures during the overlap, want 2", n)
	}
	if got[0].Header.Get(webhook.HeaderID) != "evt1" || got[0].Header.Get("traceparent") == "" || got[0].Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", got[0].Header)
	}
	env := got[0].Env
	if env.Type != "se.samnav.person.changed" || env.ID != "evt1" || env.Subject != "p1" || env.Revision != 1 || env.Data["givenNames"] != "Astrid" {
		t.Errorf("envelope %+v", env)
	}
	if got[1].Env.Type != "se.samnav.person.erased" || got[1].Env.Data != nil || !strings.Contains(string(got[1].Body), `"data":null`) {
		t.Errorf("erased envelope %s", got[1].Body)
	}
}

// A signature made by Secret.Sign is the one the reference library makes.
func TestSignMatchesReferenceLibrary(t *testing.T) {
	for i, body := range []string{"", `{"a":1}`, "ünïcödé . with dots", strings.Repeat("x", 70000)} {
		sec, _ := webhook.GenerateSecret()
		wh, err := standardwebhooks.NewWebhook(sec.String())
		if err != nil {
			t.Fatal(err)
		}
		ts := time.Unix(1674087231+int64(i), 0)
		want, _ := wh.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, []byte(body))
		if got := sec.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, []byte(body)); got != want {
			t.Errorf("body %d: %s, reference %s", i, got, want)
		}
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		in       string
		wantRule string
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"whsec_c2hvcnQ=", "size"},
		{"whsec_" + strings.Repeat("QUFB", 22), "size"},
		{"whsec_not base64!", "base64"},
	}
	for _, tt := range tests {
		_, err := webhook.ParseSecret(tt.in)
		var e *apierr.Error
		switch {
		case tt.wantRule == "" && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.wantRule != "" && (!errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Rule != tt.wantRule || e.Code != apierr.CodeInvalid):
			t.Errorf("%q: %v, want rule %s", tt.in, err, tt.wantRule)
		}
	}
}

func TestRetriesFollowTheSchedule(t *testing.T) {
	schedule := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	rc := newReceiver(t, func(_ received, n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	// A poll interval far longer than the schedule: attempts are on time
	// only if the dispatcher wakes for the next due message itself.
	svc := start(t, webhook.Config{Schedule: schedule, PollInterval: 10 * time.Second, Disable: webhook.DisablePolicy{Failures: 100}})
	register(t, svc, rc.URL)
	deliver(t, svc, event("evt1", "p1", 1))
	waitFor(t, "delivery after three failures", func() bool { return len(rc.delivered()) == 1 })

	// The receiver answers before the attempt is logged: wait for the log.
	waitFor(t, "four attempts logged", func() bool {
		log, _ := svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
		return len(log) == 4
	})
	got := rc.requests()
	if len(got) != 4 {
		t.Fatalf("%d attempts, want 4", len(got))
	}
	for i := 1; i < len(got); i++ {
		gap := got[i].At.Sub(got[i-1].At)
		// Never early; late by at most a scheduling slack (the race
		// detector and a loaded 2-core machine), far below the 10 s poll.
		if gap < schedule[i-1] || gap > schedule[i-1]+2*time.Second {
			t.Errorf("attempt %d came %v after attempt %d, want %v", i+1, gap, i, schedule[i-1])
		}
		if got[i].Header.Get(webhook.HeaderID) != "evt1" {
			t.Errorf("attempt %d has webhook-id %q", i+1, got[i].Header.Get(webhook.HeaderID))
		}
	}
	log, err := svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for i := len(log) - 1; i >= 0; i-- {
		a := log[i]
		codes = append(codes, a.StatusCode)
		if a.N != len(log)-i || a.Latency <= 0 || a.Trigger != "scheduled" {
			t.Errorf("log row %+v", a)
		}
	}
	if want := []int{500, 500, 500, 200}; !slices.Equal(codes, want) {
		t.Errorf("logged statuses %v, want %v", codes, want)
	}
	// The log keeps the answer's headers, never its body (a receiver may
	// echo the payload).
	if log[1].Error != "status 500" || !strings.HasPrefix(log[1].Response, "Content-Type: ") || strings.Contains(log[1].Response, "Internal Server Error") {
		t.Errorf("failed attempt logged as %+v", log[1])
	}
	m, err := svc.Message(context.Background(), sub1.ID, log[0].MessageID)
	if err != nil || m.State != webhook.MessageDelivered || m.Attempts != 4 {
		t.Errorf("message %+v, %v", m, err)
	}
}

func TestGivesUpAfterTheScheduleAndRedeliversByHand(t *testing.T) {
	// The receiver fails evt1's three scheduled attempts and answers 200
	// to everything else, evt1's manual redelivery included. (A receiver
	// down for everything until the test turned it up let evt2 use up its
	// own short schedule in between, when the test saw evt1 given up late.)
	rc := newReceiver(t, func(r received, n int) int {
		if r.Header.Get(webhook.HeaderID) == "evt1" && n <= 3 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	svc := start(t, webhook.Config{Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}, Disable: webhook.DisablePolicy{Failures: 100}})
	register(t, svc, rc.URL)
	deliver(t, svc, event("evt1", "p1", 1), event("evt2", "p1", 2))
	// evt1 fails three times and is given up; then evt2 of the same key goes.
	var evt1 int64
	waitFor(t, "evt1 given up", func() bool {
		log, _ := svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{})
		for _, a := range log {
			if a.EventID == "evt1" {
				evt1 = a.MessageID
			}
		}
		m, _ := svc.Message(context.Background(), sub1.ID, evt1)
		return m.State == webhook.MessageFailed
	})
	// evt2 may already be on its way once evt1 is given up; what matters
	// is that the first three requests were evt1's and none was evt2's.
	got := rc.requests()
	if len(got) < 3 {
		t.Fatalf("%d requests before evt1 was given up, want evt1's 3", len(got))
	}
	for i, r := range got[:3] {
		if id := r.Header.Get(webhook.HeaderID); id != "evt1" {
			t.Fatalf("request %d was %s; evt2 of the same key went before evt1 was given up", i+1, id)
		}
	}
	m, _ := svc.Message(context.Background(), sub1.ID, evt1)
	if m.Attempts != 3 {
		t.Fatalf("evt1 %+v, want failed after 3 attempts", m)
	}
	waitFor(t, "evt2 delivered", func() bool { return slices.Contains(rc.delivered(), "evt2") })
	if err := svc.Redeliver(context.Background(), sub1.ID, evt1); err != nil {
		t.Fatal(err)
	}
	var log []webhook.Attempt
	waitFor(t, "evt1 redelivered", func() bool {
		log, _ = svc.Attempts(context.Background(), sub1.ID, webhook.AttemptFilter{MessageID: evt1, Limit: 1})
		return len(log) == 1 && log[0].N == 4
	})
	if log[0].Trigger != "manual" || log[0].N != 4 || log[0].StatusCode != 200 {
		t.Fatalf("redelivery logged as %+v", log[0])
	}
	err := svc.Redeliver(context.Background(), sub1.ID, 424242)
	if apierr.CodeOf(err) != apierr.CodeNotFound {
		t.Fatalf("redeliver unknown message: %v", err)
	}
}

func TestOrderPerKeyWhileOtherKeysProceed(t *testing.T) {
	var firstA atomic.Bool
	rc := newReceiver(t, func(r received, n int) int {
		// The first event of key A fails once; everything else succeeds.
		if r.Env.ID == "a1" && n == 1 {
			firstA.Store(true)
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	// a1's retry is an hour away: key B must be delivered in full while
	// A waits (a dispatcher holding B behind A never gets there), and only
	// then is a1 sent again, by hand. (A retry 400 ms away raced B's three
	// sequential deliveries on a loaded machine.)
	svc := start(t, webhook.Config{Schedule: []time.Duration{time.Hour}, Workers: 4})
	register(t, svc, rc.URL)
	deliver(t, svc, event("a1", "A", 1), event("b1", "B", 1), event("a2", "A", 2), event("b2", "B", 2), event("a3", "A", 3), event("b3", "B", 3))
	waitFor(t, "key B delivered while a1 waits for its retry", func() bool {
		got := rc.delivered()
		return slices.Contains(got, "b1") && slices.Contains(got, "b2") && slices.Contains(got, "b3")
	})
	if err := svc.Redeliver(context.Background(), sub1.ID, messageOf(t, svc, "a1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all six delivered", func() bool { return len(rc.delivered()) == 6 })

	var a, b []string
	var a1OK, lastB time.Time
	for _, r := range rc.requests() {
		id := r.Header.Get(webhook.HeaderID)
		switch {
		case r.Status != http.StatusOK:
		case r.Env.Subject == "A":
			a = append(a, id)
			if id == "a1" {
				a1OK = r.At
			}
		default:
			b = append(b, id)
			lastB = r.At
		}
	}
	if !firstA.Load() {
		t.Fatal("a1 never failed")
	}
	if want := []string{"a1", "a2", "a3"}; !slices.Equal(a, want) {
		t.Errorf("key A delivered %v, want %v", a, want)
	}
	if want := []string{"b1", "b2", "b3"}; !slices.Equal(b, want) {
		t.Errorf("key B delivered %v, want %v", b, want)
	}
	if !lastB.Before(a1OK) {
		t.Errorf("key B finished at %v, after a1's retry at %v: B waited for A", lastB, a1OK)
	}
	for _, r := range rc.requests() {
		if r.Env.Subject == "A" && r.Env.ID != "a1" && r.At.Before(a1OK) {
			t.Errorf("%s sent at %v, before a1 succeeded at %v", r.Env.ID, r.At, a1OK)
		}
	}
}

func TestDisabledAfterProlongedFailureAndEnableDeliversTheBacklog(t *testing.T) {
	up, rc := downReceiver(t, http.StatusInternalServerError)
	claims := newClaimLog(t)
	svc := start(t, webhook.Config{
		Store:    claims,
		Schedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		Disable:  webhook.DisablePolicy{Failures: 3},
	})
	register(t, svc, rc.URL)
	ctx := context.Background()
	deliver(t, svc, event("a1", "A", 1))
	waitFor(t, "endpoint disabled", func() bool {
		ep, _ := svc.Endpoint(ctx, sub1.ID)
		return ep.Status == webhook.StatusDisabled
	})
	ep, _ := svc.Endpoint(ctx, sub1.ID)
	if ep.DisabledReason != webhook.ReasonFailing || ep.ConsecutiveFailures != 3 {
		t.Fatalf("disabled endpoint %+v", ep)
	}
	deliver(t, svc, event("b1", "B", 1), event("a2", "A", 2))
	// Every message the dispatcher sends it claims first: after a claim
	// round that began once they were queued, a message of the disabled
	// endpoint that was due would have been claimed.
	claims.afterNextRounds(t, 1)
	if ids := claims.claimedIDs(); slices.Contains(ids, "b1") || slices.Contains(ids, "a2") {
		t.Fatalf("claimed %v for a disabled endpoint, want nothing after it was disabled", ids)
	}
	if n := len(rc.requests()); n != 3 {
		t.Fatalf("%d requests to a disabled endpoint, want the 3 before it was disabled", n)
	}
	up.Store(true)
	if err := svc.Enable(ctx, sub1.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "backlog delivered", func() bool { return len(rc.delivered()) == 3 })
	got := rc.delivered()
	if slices.Index(got, "a1") > slices.Index(got, "a2") {
		t.Errorf("backlog delivered %v: a2 before a1", got)
	}
	ep, _ = svc.Endpoint(ctx, sub1.ID)
	if ep.Status != webhook.StatusEnabled || ep.ConsecutiveFailures != 0 {
		t.Errorf("endpoint after enable %+v", ep)
	}
}

func TestGoneDisablesTheEndpoint(t *testing.T) {
	rc := newReceiver(t, func(received, int) int { return http.StatusGone })
	svc := start(t, webhook.Config{})
	register(t, svc, rc.URL)
	deliver(t, svc, event("a1", "A", 1))
	ctx := context.Background()
	waitFor(t, "endpoint disabled", func() bool {
		ep, _ := svc.Endpoint(ctx, sub1.ID)
		return ep.Status == webhook.StatusDisabled
	})
	ep, _ := svc.Endpoint(ctx, sub1.ID)
	if ep.DisabledReason != webhook.ReasonGone || len(rc.requests()) != 1 {
		t.Fatalf("after 410: %+v, %d requests", ep, len(rc.requests()))
	}
}

func TestDeliverRefusesBadEvents(t *testing.T) {
	svc := start(t, webhook.Config{})
	rc := newReceiver(t, nil)
	register(t, svc, rc.URL)
	unapproved := sub1
	unapproved.Status = "revoked"
	tests := []struct {
		name string
		sub  func() error
		code apierr.Code
	}{
		{"dotted id", func() error { return svc.Deliver(context.Background(), sub1, event("a.b", "A", 1)) }, apierr.CodeInvalid},
		{"no key", func() error { return svc.Deliver(context.Background(), sub1, event("e1", "", 1)) }, apierr.CodeInvalid},
		{"bad type", func() error {
			ev := event("e1", "A", 1)
			ev.Type = "created"
			return svc.Deliver(context.Background(), sub1, ev)
		}, apierr.CodeInvalid},
		{"no unprojected state", func() error {
			ev := event("e1", "A", 1)
			ev.Source = nil
			return svc.Deliver(context.Background(), sub1, ev)
		}, apierr.CodeInvalid},
		{"unapproved", func() error { return svc.Deliver(context.Background(), unapproved, event("e1", "A", 1)) }, apierr.CodeForbidden},
		{"no endpoint", func() error {
			other := sub1
			other.ID = "sub2"
			return svc.Deliver(context.Background(), other, event("e1", "A", 1))
		}, apierr.CodeNotFound},
	}
	for _, tt := range tests {
		if got := apierr.CodeOf(tt.sub()); got != tt.code {
			t.Errorf("%s: code %s, want %s", tt.name, got, tt.code)
		}
	}
}

// staticResolver answers every lookup with the addresses next returns.
type staticResolver struct{ next func() []netip.Addr }

func (r staticResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return r.next(), nil
}

func TestAddressPolicyRefusesSSRF(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		url      string
		policy   webhook.AddressPolicy
		wantRule string
	}{
		{"http://127.0.0.1/hook", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"http://127.8.9.10:8080/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"http://[::1]/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"http://[::ffff:127.0.0.1]/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		// IPv4 addresses carried in IPv6: NAT64, 6to4, IPv4-compatible, SIIT.
		{"http://[64:ff9b::a9fe:a9fe]/", webhook.AddressPolicy{}, webhook.RuleMetadata},
		{"http://[64:ff9b::a9fe:a9fe]/", webhook.AddressPolicy{AllowPrivate: true}, webhook.RuleMetadata},
		{"http://[64:ff9b::127.0.0.1]/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"http://[64:ff9b:1::10.0.0.1]/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"http://[2002:a9fe:a9fe::1]/", webhook.AddressPolicy{}, webhook.RuleMetadata},
		{"http://[2002:c0a8:101::]/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"http://[2002:7f00:1::]/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"http://[2002:a9fe:101::]/", webhook.AddressPolicy{}, webhook.RuleLinkLocal},
		{"http://[::169.254.169.254]/", webhook.AddressPolicy{}, webhook.RuleMetadata},
		{"http://[::10.1.2.3]/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"http://[::127.0.0.1]/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"http://[::ffff:0:192.168.0.1]/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"https://[64:ff9b::cb00:7107]/", webhook.AddressPolicy{}, ""},
		{"https://[2002:cb00:7107::1]/", webhook.AddressPolicy{}, ""},
		{"http://localhost:9999/", webhook.AddressPolicy{}, webhook.RuleLoopback},
		{"https://10.0.0.1/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"https://172.16.5.4/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"https://192.168.1.1/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"https://[fd00::1]/", webhook.AddressPolicy{}, webhook.RulePrivate},
		{"http://169.254.169.254/latest/meta-data/", webhook.AddressPolicy{}, webhook.RuleMetadata},
		{"http://169.254.1.1/", webhook.AddressPolicy{}, webhook.RuleLinkLocal},
		{"http://[fe80::1]/", webhook.AddressPolicy{}, webhook.RuleLinkLocal},
		{"http://0.0.0.0/", webhook.AddressPolicy{}, webhook.RuleUnspecified},
		{"http://[::]/", webhook.AddressPolicy{}, webhook.RuleUnspecified},
		{"http://224.0.0.1/", webhook.AddressPolicy{}, webhook.RuleMulticast},
		{"http://255.255.255.255/", webhook.AddressPolicy{}, webhook.RuleReserved},
		{"http://internal.example/", webhook.AddressPolicy{Resolver: staticResolver{func() []netip.Addr {
			return []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("10.1.2.3")}
		}}}, webhook.RulePrivate},
		{"ftp://203.0.113.7/", webhook.AddressPolicy{}, webhook.RuleScheme},
		{"https://user:pw@203.0.113.7/", webhook.AddressPolicy{}, webhook.RuleUserinfo},
		{"https:///nohost", webhook.AddressPolicy{}, webhook.RuleHost},
		// AllowPrivate opens loopback and private, never metadata.
		{"http://127.0.0.1/", webhook.AddressPolicy{AllowPrivate: true}, ""},
		{"http://10.0.0.1/", webhook.AddressPolicy{AllowPrivate: true}, ""},
		{"http://169.254.169.254/", webhook.AddressPolicy{AllowPrivate: true}, webhook.RuleMetadata},
		{"http://10.9.9.9/", webhook.AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}, ""},
		{"http://10.8.9.9/", webhook.AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}, webhook.RulePrivate},
		{"https://203.0.113.7/hook", webhook.AddressPolicy{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			svc, err := webhook.New(projecting(t, webhook.Config{Store: newStore(t), Addresses: tt.policy, Logger: discard()}))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = svc.Register(ctx, webhook.RegisterRequest{SubscriptionID: "s", Owner: "o", URL: tt.url})
			if tt.wantRule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *apierr.Error
			if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Rule != tt.wantRule || e.Fields[0].Field != "url" || e.Code != apierr.CodeInvalid {
				t.Fatalf("got %v, want rule %s", err, tt.wantRule)
			}
			if !strings.Contains(err.Error(), "rule "+tt.wantRule) {
				t.Errorf("message %q does not name the rule", err)
			}
			if tt.wantRule != webhook.RuleScheme && tt.wantRule != webhook.RuleUserinfo && tt.wantRule != webhook.RuleHost && !errors.Is(err, webhook.ErrDisallowedAddress) {
				t.Errorf("%v is not ErrDisallowedAddress", err)
			}
		})
	}
}

// A name that resolved to a public address at registration and to
// loopback at send time (DNS rebinding) is refused before connecting.
func TestAddressPolicyAppliesAtDialTime(t *testing.T) {
	rc := newReceiver(t, nil)
	port := rc.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	var lookups atomic.Int32
	res := staticResolver{func() []netip.Addr {
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("203.0.113.7")} // TEST-NET-3: never dialled here
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}}
	store := newStore(t)
	svc, err := webhook.New(projecting(t, webhook.Config{Store: store, Addresses: webhook.AddressPolicy{Resolver: res},
		Schedule: []time.Duration{}, PollInterval: 20 * time.Millisecond, Logger: discard()}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, _, err := svc.Register(ctx, webhook.RegisterRequest{SubscriptionID: sub1.ID, Owner: "o", URL: fmt.Sprintf("http://rebind.test:%d/", port)}); err != nil {
		t.Fatal(err)
	}
	deliver(t, svc, event("e1", "A", 1))
	var log []webhook.Attempt
	waitFor(t, "the attempt logged", func() bool {
		log, _ = svc.Attempts(ctx, sub1.ID, webhook.AttemptFilter{})
		return len(log) == 1
	})
	if !strings.Contains(log[0].Error, "loopback") || log[0].StatusCode != 0 {
		t.Fatalf("attempt %+v, want refused as loopback", log[0])
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("receiver on loopback got %d requests", n)
	}
}
