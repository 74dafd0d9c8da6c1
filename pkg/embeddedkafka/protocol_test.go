package embeddedkafka_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

// rawConn speaks the Kafka protocol with kmsg alone, so that a test
// chooses every request version, as a client of another language does.
type rawConn struct {
	net.Conn
	corr int32
}

// dialRaw connects to addr from the loopback address local ("" for any).
func dialRaw(t *testing.T, addr, local string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %q: %v", addr, local, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{Conn: conn}
}

// roundTrip sends req and reads its response.
func (c *rawConn) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test")).AppendRequest(nil, req, c.corr)
	if _, err := c.Write(frame); err != nil {
		return nil, fmt.Errorf("write %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	body, err := c.readFrame()
	if err != nil {
		return nil, fmt.Errorf("read %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != c.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", corr, c.corr)
	}
	resp := req.ResponseKind()
	r := kbin.Reader{Src: body[4:]}
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		kmsg.SkipTags(&r)
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		return nil, fmt.Errorf("parse %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

// readFrame reads one size-prefixed frame.
func (c *rawConn) readFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c, body)
	return body, err
}

// writeBare sends a SASL token without a Kafka header, as after a v0
// handshake.
func (c *rawConn) writeBare(token []byte) error {
	_, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...))
	return err
}

func handshake(t *testing.T, c *rawConn, version int16, mechanism string) *kmsg.SASLHandshakeResponse {
	t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = version, mechanism
	resp, err := c.roundTrip(req)
	if err != nil {
		t.Fatalf("SaslHandshake v%d %s: %v", version, mechanism, err)
	}
	return resp.(*kmsg.SASLHandshakeResponse)
}

// scramLogin logs in on c with SCRAM-SHA-512 over SaslHandshake version
// (v0: bare tokens; v1: SaslAuthenticate) and then asks for metadata. It
// returns the broker's refusal.
func scramLogin(ctx context.Context, t *testing.T, c *rawConn, version int16, user, password string) error {
	t.Helper()
	if hs := handshake(t, c, version, kafkaauth.ScramSHA512); hs.ErrorCode != 0 {
		return kerr.ErrorForCode(hs.ErrorCode)
	}
	mech := scram.Auth{User: user, Pass: password}.AsSha512Mechanism()
	session, msg, err := mech.Authenticate(ctx, c.RemoteAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		var challenge []byte
		if challenge, err = exchange(c, version, msg); err != nil {
			return err
		}
		if done, msg, err = session.Challenge(challenge); err != nil {
			return fmt.Errorf("server's SCRAM message: %w", err)
		}
	}
	if _, err := c.roundTrip(kmsg.NewPtrMetadataRequest()); err != nil {
		return fmt.Errorf("metadata after login: %w", err)
	}
	return nil
}

// exchange sends one SASL message and returns the broker's answer.
func exchange(c *rawConn, version int16, msg []byte) ([]byte, error) {
	if version == 0 {
		if err := c.writeBare(msg); err != nil {
			return nil, err
		}
		return c.readFrame()
	}
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version, req.SASLAuthBytes = 1, msg
	resp, err := c.roundTrip(req)
	if err != nil {
		return nil, err
	}
	if r := resp.(*kmsg.SASLAuthenticateResponse); r.ErrorCode != 0 {
		return nil, kerr.ErrorForCode(r.ErrorCode)
	}
	return resp.(*kmsg.SASLAuthenticateResponse).SASLAuthBytes, nil
}

var _ sasl.Mechanism = scram.Auth{}.AsSha512Mechanism()

// librdkafka sends no SaslHandshake unless ApiVersions advertises it from
// v0, as Apache Kafka does ("SASL Handshake not supported by broker").
func TestApiVersionsAdvertisesSaslHandshakeFromV0(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  embeddedkafka.Config
	}{
		{"open", embeddedkafka.Config{}},
		{"sasl", embeddedkafka.Config{Superuser: hub}},
		{"sasl kafka4", embeddedkafka.Config{Superuser: hub, Kafka4: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := start(t, tc.cfg)
			c := dialRaw(t, b.Addr(), "")
			for _, version := range []int16{0, 3} {
				req := kmsg.NewPtrApiVersionsRequest()
				req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = version, "raw-test", "1.0"
				resp, err := c.roundTrip(req)
				if err != nil {
					t.Fatalf("ApiVersions v%d: %v", version, err)
				}
				av := resp.(*kmsg.ApiVersionsResponse)
				i := slices.IndexFunc(av.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == kmsg.SASLHandshake.Int16() })
				if av.ErrorCode != 0 || i < 0 {
					t.Fatalf("ApiVersions v%d: error %d, SaslHandshake advertised: %v", version, av.ErrorCode, i >= 0)
				}
				if k := av.ApiKeys[i]; k.MinVersion != 0 || k.MaxVersion != 1 {
					t.Errorf("ApiVersions v%d advertises SaslHandshake v%d-v%d, want v0-v1 as Apache Kafka", version, k.MinVersion, k.MaxVersion)
				}
				if len(av.ApiKeys) < 20 {
					t.Errorf("ApiVersions v%d lists %d keys: the rewrite lost some", version, len(av.ApiKeys))
				}
			}
		})
	}
}

// KafkaJS refuses to log in unless the handshake's answer lists its
// mechanism ("SASL SCRAM-SHA-512 mechanism is not supported by the
// server"); Apache Kafka lists the enabled mechanisms in every answer.
func TestSaslHandshakeListsEnabledMechanisms(t *testing.T) {
	b := start(t, embeddedkafka.Config{Superuser: hub})
	want := []string{"SCRAM-SHA-512", "SCRAM-SHA-256"}
	for _, version := range []int16{1, 0} {
		hs := handshake(t, dialRaw(t, b.Addr(), ""), version, "SCRAM-SHA-512")
		if hs.ErrorCode != 0 || !slices.Equal(hs.SupportedMechanisms, want) {
			t.Errorf("SaslHandshake v%d SCRAM-SHA-512: error %d, mechanisms %q; want 0, %q", version, hs.ErrorCode, hs.SupportedMechanisms, want)
		}
	}
	// PLAIN would send the password in clear: not enabled, so refused.
	hs := handshake(t, dialRaw(t, b.Addr(), ""), 1, "PLAIN")
	if hs.ErrorCode != kerr.UnsupportedSaslMechanism.Code || !slices.Equal(hs.SupportedMechanisms, want) {
		t.Errorf("SaslHandshake PLAIN: error %d, mechanisms %q; want UNSUPPORTED_SASL_MECHANISM, %q", hs.ErrorCode, hs.SupportedMechanisms, want)
	}
}

// Clients that send SaslHandshake v0 (kafka-python 2.0.2, Sarama up to
// 1.40.1) follow it with bare SASL tokens.
func TestSaslHandshakeV0LogsInWithBareTokens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := start(t, embeddedkafka.Config{Superuser: hub})
	if err := scramLogin(ctx, t, dialRaw(t, b.Addr(), ""), 0, hub.Username, hub.Password); err != nil {
		t.Fatalf("v0 login: %v", err)
	}
	err := scramLogin(ctx, t, dialRaw(t, b.Addr(), ""), 0, hub.Username, "wrong")
	if err == nil || !errors.Is(err, io.EOF) {
		t.Errorf("v0 login with a wrong password: %v, want the connection closed", err)
	}
}

// loginClock is the broker's login clock and wait: it records the delays
// failed logins are held back for and moves time on by each, as a guesser
// waiting for every answer sees it, without sleeping.
type loginClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *loginClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *loginClock) Wait(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
}

func (c *loginClock) held() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLimited starts a SASL broker whose failed logins wait on a
// loginClock and log to a buffer.
func startLimited(t *testing.T) (*embeddedkafka.Broker, *loginClock, *syncBuffer) {
	t.Helper()
	clock := &loginClock{now: time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)}
	log := &syncBuffer{}
	b := start(t, embeddedkafka.Config{Superuser: hub, Now: clock.Now, LoginWait: clock.Wait,
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	return b, clock, log
}

func TestFailedSASLLoginsAreSlowedAndLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, clock, log := startLimited(t)
	const password, guess = "a-secret-9f2c", "guessed-pw-4b1e"
	if _, err := b.AddUser(ctx, "a", password); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		err := scramLogin(ctx, t, dialRaw(t, b.Addr(), "127.0.0.2"), 1, "a", guess)
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("wrong password %d: %v, want SASL_AUTHENTICATION_FAILED", i+1, err)
		}
	}
	// Five free failures, then 250ms, 500ms, 1s ... up to 10s each.
	var want []time.Duration
	for d := 250 * time.Millisecond; len(want) < 15; d = min(2*d, 10*time.Second) {
		want = append(want, d)
	}
	if got := clock.held(); !slices.Equal(got, want) {
		t.Fatalf("20 wrong passwords were held back by %v, want %v", got, want)
	}
	// The right password from another source is answered at once.
	if err := scramLogin(ctx, t, dialRaw(t, b.Addr(), "127.0.0.1"), 1, "a", password); err != nil {
		t.Fatalf("the right password from another source: %v", err)
	}
	// Another principal's first failure from another source is free.
	if err := scramLogin(ctx, t, dialRaw(t, b.Addr(), "127.0.0.3"), 1, hub.Username, guess); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("the superuser with a wrong password: %v", err)
	}
	if got := clock.held(); len(got) != len(want) {
		t.Errorf("logins not guessing a's password were held back by %v", got[len(want):])
	}
	logged := log.String()
	for _, s := range []string{`msg="kafka login failed"`, "source=127.0.0.2", "principal=a", "reason=\"wrong password\"", "principal.failures=20"} {
		if !strings.Contains(logged, s) {
			t.Errorf("the log lacks %s:\n%.600s", s, logged)
		}
	}
	if strings.Contains(logged, guess) || strings.Contains(logged, password) {
		t.Error("a password is in the log")
	}
}

// An unknown user guesses no principal's password: it counts against its
// source only.
func TestUnknownSASLUsersAreSlowedPerSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, clock, log := startLimited(t)
	for i := range 7 {
		err := scramLogin(ctx, t, dialRaw(t, b.Addr(), "127.0.0.2"), 1, fmt.Sprintf("nobody%d", i), "x")
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("unknown user %d: %v, want SASL_AUTHENTICATION_FAILED", i, err)
		}
	}
	if got := clock.held(); !slices.Equal(got, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}) {
		t.Errorf("7 unknown users from one source were held back by %v, want [250ms 500ms]", got)
	}
	if logged := log.String(); !strings.Contains(logged, `reason="unknown user"`) || strings.Contains(logged, "principal.failures") {
		t.Errorf("an unknown user is not logged against its source only:\n%.400s", logged)
	}
}
