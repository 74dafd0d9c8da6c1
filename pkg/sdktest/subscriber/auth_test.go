package subscriber_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
)

func TestConfigAuthIsValidated(t *testing.T) {
	cfg := subscriber.Config{Brokers: []string{"127.0.0.1:9092"}, Group: "skolplattform.pupils", Registry: registry(t),
		Auth: kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "skolplattform"}}
	_, err := subscriber.New(cfg, subscriber.Handle("samnav.view.skolplattform.person.v1", "", func(context.Context, subscriber.Event[map[string]any]) error { return nil }))
	if err == nil || !strings.Contains(err.Error(), "Auth: ") || !strings.Contains(err.Error(), "password") {
		t.Fatalf("New with a password missing = %v, want an error naming Auth and the password", err)
	}
}

// TestConfigWithKafka: the Settings a system loads as the services do
// become the Config's brokers, credentials and connection, and a bad
// connection setting is refused naming Connection.
func TestConfigWithKafka(t *testing.T) {
	settings := kafkaauth.Settings{Brokers: []string{"kafka-1:9093"}, SASL: hubUser,
		Connection: kafkaauth.Connection{TLS: true, ClientID: "skolplattform", DialTimeout: 3 * time.Second}}
	cfg := subscriber.Config{Group: "skolplattform.pupils", Registry: registry(t)}.WithKafka(settings)
	if got := cfg.KafkaSettings(); !reflect.DeepEqual(got, settings) {
		t.Fatalf("KafkaSettings = %+v, want %+v", got, settings)
	}
	cfg.Connection.DialTimeout = -time.Second
	_, err := subscriber.New(cfg, subscriber.Handle("samnav.view.skolplattform.person.v1", "", func(context.Context, subscriber.Event[map[string]any]) error { return nil }))
	if err == nil || !strings.Contains(err.Error(), "Connection: ") || !strings.Contains(err.Error(), "dial timeout") {
		t.Fatalf("New with a negative dial timeout = %v, want an error naming Connection and the dial timeout", err)
	}
}

// A subscriber without credentials is refused by a broker that requires
// SASL; with them (the same user) it starts: the admin client logs in too.
// Asked for TLS, which this broker does not speak, it does not start: the
// connection settings reach the clients.
func TestRunLogsInWithAuth(t *testing.T) {
	h := newSecureHarness(t)
	for _, tc := range []struct {
		name string
		auth kafkaauth.Config
		conn kafkaauth.Connection
		ok   bool
	}{
		{"without credentials", kafkaauth.Config{}, kafkaauth.Connection{}, false},
		{"over TLS the broker does not speak", hubUser, kafkaauth.Connection{TLS: true, DialTimeout: 2 * time.Second}, false},
		{"as the hub's user", hubUser, kafkaauth.Connection{}, true},
	} {
		cfg := h.config("skolplattform.auth")
		cfg.Auth, cfg.Connection = tc.auth, tc.conn
		s := h.subscriber(cfg, newRecorder().handle)
		ctx, cancel := context.WithCancel(h.ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		if tc.ok {
			select {
			case <-s.CaughtUp():
			case err := <-done:
				t.Fatalf("%s: Run = %v before catching up", tc.name, err)
			case <-h.ctx.Done():
				t.Fatalf("%s: did not catch up", tc.name)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: Run = %v", tc.name, err)
			}
			continue
		}
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: Run ended without an error", tc.name)
			}
		case <-h.ctx.Done():
			t.Errorf("%s: Run did not fail", tc.name)
		}
		cancel()
	}
}

var hubUser = kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "samnav-hub", Password: "hub-secret"}

// newSecureHarness is newHarness on a broker that requires SASL/SCRAM.
func newSecureHarness(t *testing.T) *harness {
	t.Helper()
	h := startHarness(t, hubUser)
	h.send("p-1", "e-1", "created", &Person{ID: "p-1", GivenNames: "Astrid"})
	return h
}
