package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/poll"
)

// TestDevKafkaSASL: with --kafka-sasl (the flag's default) the hub runs as
// the broker's superuser, each example system has a Kafka user of its own
// kept in the data directory, the school platform reads its view topic with
// its user, and a user reads nothing it was not approved for.
func TestDevKafkaSASL(t *testing.T) {
	cfg := testConfig(t)
	cfg.KafkaSASL = true
	h := startTestHub(t, cfg)
	if err := h.startExamples(); err != nil {
		t.Fatalf("start examples: %v", err)
	}
	if len(h.flow.kafkaUsers) != len(exampleSystems) || !strings.Contains(h.flow.kafkaUsers[0], "password (shown this once): ") {
		t.Fatalf("kafka users for the integrator: %q", h.flow.kafkaUsers)
	}
	var out bytes.Buffer
	if err := h.seed(t.Context(), &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	poll.Until(poll.Within(t, 90*time.Second), t, "skolplattform receiving every person", func() error {
		if h.flow.received["skolplattform"].Load() < int64(cfg.SeedSize.Persons) {
			return fmt.Errorf("received %s", h.flow.summary())
		}
		return nil
	})

	ctx := t.Context()
	addr := h.broker.Addr()
	if err := (kafkaauth.Config{}).Check(ctx, addr); err == nil {
		t.Error("a client without SASL was let into the dev broker")
	}
	users := map[string]kafkaauth.Config{}
	for _, id := range []string{"samnav-hub", "skolplattform", "bibliotek", "hemtjanst"} {
		fi, err := os.Stat(kafkaPasswordPath(cfg.DataDir, id))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("password file of %s: %v, %v; want mode 0600", id, fi, err)
		}
		cred, fresh, err := kafkaCredentials(cfg.DataDir, id)
		if err != nil || fresh {
			t.Fatalf("credentials of %s are not kept: fresh=%v err=%v", id, fresh, err)
		}
		if err := cred.Check(ctx, addr); err != nil {
			t.Errorf("%s cannot log in: %v", id, err)
		}
		users[id] = cred
	}
	// bibliotek subscribes over a webhook: no Kafka topic of the hub is its.
	for _, topic := range []string{"samnav.view.skolplattform.person.v1", "samnav.person.v1"} {
		d, err := users["bibliotek"].Dialer("test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.LookupPartitions(ctx, "tcp", addr, topic); !errors.Is(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("bibliotek looks up %s: err = %v, want TOPIC_AUTHORIZATION_FAILED", topic, err)
		}
	}
	wrong := users["skolplattform"]
	wrong.Password = "not-" + wrong.Password
	if err := wrong.Check(ctx, addr); !errors.Is(err, kafkaauth.ErrAuthentication) {
		t.Errorf("wrong password: err = %v, want authentication failed", err)
	}

	// A restart reuses the kept credentials and shows no password again.
	cfg.KafkaAddr, cfg.RegistryAddr = h.broker.Addr(), h.registry.Addr()
	h.stop()
	h2 := startTestHub(t, cfg)
	if err := h2.startExamples(); err != nil {
		t.Fatalf("start examples after restart: %v", err)
	}
	for _, u := range h2.flow.kafkaUsers {
		if strings.Contains(u, "shown this once") {
			t.Errorf("restart shows a password again: %q", u)
		}
	}
	if err := users["skolplattform"].Check(ctx, h2.broker.Addr()); err != nil {
		t.Errorf("skolplattform after restart: %v", err)
	}
}
