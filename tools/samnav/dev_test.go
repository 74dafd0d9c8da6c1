package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samnav/samnav/contracts/concepts"
	"github.com/samnav/samnav/pkg/sdk/avro"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/poll"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/tools/samnav/internal/synthcity"
)

func testConfig(t *testing.T) devConfig {
	return devConfig{
		DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		LogLevel: "warn", Seed: 7, SeedSize: synthcity.Size{Persons: 50, Organisations: 10, Units: 5, Employees: 10},
	}
}

func startTestHub(t *testing.T, cfg devConfig) *devHub {
	t.Helper()
	return startTestHubWith(t, cfg, nil)
}

// startScannedHub is startTestHub under the log and URL scan: the hub
// logs at debug level, as JSON, to sc, which also records every request
// line its servers receive; the city the hub seeds is what sc searches
// for (sc.Check).
func startScannedHub(t *testing.T, cfg devConfig, sc *hubtest.Scan) *devHub {
	t.Helper()
	cfg.LogLevel = "debug"
	m, _ := hubtest.Model(t)
	for _, rec := range synthcity.City(cfg.Seed, cfg.SeedSize) {
		sc.Seeded(t, m, rec.Concept, rec.Fields)
	}
	return startTestHubWith(t, cfg, sc)
}

func startTestHubWith(t *testing.T, cfg devConfig, sc *hubtest.Scan) *devHub {
	t.Helper()
	tc, ctx := telemetry.Config{ServiceName: "samnav-dev-test", LogLevel: cfg.LogLevel, LogOutput: io.Discard}, t.Context()
	if sc != nil {
		tc.LogFormat, tc.LogOutput, ctx = "json", sc.Writer(), sc.Context(ctx)
	}
	tel, err := telemetry.Setup(t.Context(), tc)
	if err != nil {
		t.Fatal(err)
	}
	h, err := startDev(ctx, cfg, tel)
	if err != nil {
		t.Fatalf("start dev hub: %v", err)
	}
	t.Cleanup(h.stop)
	return h
}

// readFromStart is a franz-go client on h's broker that reads topic from
// its first offset; it is closed when the test ends.
func readFromStart(t *testing.T, h *devHub, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.broker.Addr()), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestDevBrokerServesThirdPartyClient(t *testing.T) {
	h := startTestHub(t, testConfig(t))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// The broker does not auto-create topics: create one as production would.
	client := &kafka.Client{Addr: kafka.TCP(h.broker.Addr()), Timeout: 5 * time.Second}
	if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: "samnav.devcheck.v1", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	cl := readFromStart(t, h, "samnav.devcheck.v1")
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "samnav.devcheck.v1", Value: []byte("hej")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	for {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("timed out waiting for the record")
		}
		var got []string
		f.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		if len(got) > 0 {
			if got[0] != "hej" {
				t.Fatalf("consumed %q, want hej", got[0])
			}
			return
		}
	}
}

// TestDevOnceOnlyFlow is the first-run story: the hub starts, registers the
// contracts, seeds a small city, and a person written once by its master
// arrives on the state topic, decodable through the registry by any client.
// It runs under the log and URL scan: no seeded personal value is in a log
// line or a request line.
func TestDevOnceOnlyFlow(t *testing.T) {
	cfg := testConfig(t)
	sc := hubtest.NewScan()
	h := startScannedHub(t, cfg, sc)
	defer sc.Check(t)
	var out bytes.Buffer
	h.printBanner(&out)
	if h.adminToken == "" || !strings.Contains(out.String(), h.adminToken) {
		t.Fatalf("first start shows no admin token:\n%s", out.String())
	}
	if err := h.seed(t.Context(), &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}

	// The registry holds the generated contracts.
	resp, err := http.Get("http://" + h.registry.Addr() + "/subjects")
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	_ = json.NewDecoder(resp.Body).Decode(&subjects)
	resp.Body.Close()
	if !contains(subjects, "samnav.person.v1-value") {
		t.Fatalf("registry subjects %v lack samnav.person.v1-value", subjects)
	}

	// The master data API answers on the console's address with the token.
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.httpLn.Addr().String()+"/api/v1/person?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+h.adminToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "personalIdentityNumber") {
		t.Fatalf("GET /api/v1/person = %d %s", resp.StatusCode, body)
	}

	// Every seeded person reaches samnav.person.v1 and decodes through the
	// registry into the generated type.
	reg, err := avroserde.NewRegistryClient("http://" + h.registry.Addr())
	if err != nil {
		t.Fatal(err)
	}
	schema, err := avro.Parse(personSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	des, err := avroserde.NewDeserializer(reg, schema)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cl := readFromStart(t, h, "samnav.person.v1")
	seen := map[string]bool{}
	for len(seen) < cfg.SeedSize.Persons {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d persons arrived on samnav.person.v1", len(seen), cfg.SeedSize.Persons)
		}
		f.EachRecord(func(r *kgo.Record) {
			var p concepts.PersonV1
			if err := des.Decode(r.Value, &p); err != nil {
				t.Fatalf("decode person: %v", err)
			}
			if p.ID != string(r.Key) || p.Surname == "" {
				t.Fatalf("person %q under key %q has no surname", p.ID, r.Key)
			}
			seen[p.ID] = true
		})
	}
}

func personSchema(t *testing.T) string {
	t.Helper()
	cs, err := contractSeeds()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Subject == "samnav.person.v1-value" {
			return c.Schema
		}
	}
	t.Fatal("no person contract")
	return ""
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestDevRestartKeepsStateAndShowsNoNewToken(t *testing.T) {
	cfg := testConfig(t)
	cfg.NoSeed = true
	h := startTestHub(t, cfg)
	cfg.KafkaAddr, cfg.RegistryAddr = h.broker.Addr(), h.registry.Addr()
	h.stop()

	h2 := startTestHub(t, cfg)
	if h2.adminToken != "" {
		t.Fatal("a restart issued a second bootstrap admin token")
	}
}

func TestDevConsoleAnswersAndShutsDownCleanly(t *testing.T) {
	cfg := testConfig(t)
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{ServiceName: "t", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h, err := startDev(ctx, cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	var banner bytes.Buffer
	h.printBanner(&banner)
	for _, want := range []string{"kafka", "registry", "console", "masterdata"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	base := "http://" + h.httpLn.Addr().String()
	for _, path := range []string{"/healthz", "/livez", "/metrics", "/", "/dev", "/catalogue", "/signin"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	// The live flow's API is the delivery service's, not master data's
	// (which would answer 404 for a concept named "deliveries").
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/deliveries/recent", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Errorf("GET /api/v1/deliveries/recent = %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	done := make(chan error, 1)
	go func() { done <- h.wait() }()
	cancel() // what Ctrl-C does through signal.NotifyContext
	if err := poll.Receive(poll.Within(t, 15*time.Second), t, "the dev hub shutting down after cancel", done); err != nil {
		t.Fatalf("wait after cancel: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("console still answers after shutdown")
	}
}

func TestDevFlagsRejectBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--kafka-addr", "nohostport"}, "--kafka-addr"},
		{[]string{"--data-dir", ""}, "--data-dir"},
		{[]string{"extra"}, "takes no arguments"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--seed", "minus"}, "seed"},
	}
	for _, tt := range tests {
		_, err := parseDevFlags(tt.args, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseDevFlags(%q) = %v, want a usage error mentioning %q", tt.args, err, tt.want)
		}
	}
}

// TestDevExampleSubscribersReceive: the example systems are registered,
// approved and receive the seeded city over Kafka, a signed webhook and the
// pull feed, so the once-only flow is visible from the first run.
func TestDevExampleSubscribersReceive(t *testing.T) {
	cfg := testConfig(t)
	h := startTestHub(t, cfg)
	if err := h.startExamples(); err != nil {
		t.Fatalf("start examples: %v", err)
	}
	var out bytes.Buffer
	if err := h.seed(t.Context(), &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	want := map[string]int64{"skolplattform": int64(cfg.SeedSize.Persons), "bibliotek": int64(cfg.SeedSize.Persons), "hemtjanst": int64(cfg.SeedSize.Units)}
	poll.Until(poll.Within(t, 90*time.Second), t, "the examples receiving the seeded city", func() error {
		for id, n := range want {
			if h.flow.received[id].Load() < n {
				return fmt.Errorf("received %s; want at least %v", h.flow.summary(), want)
			}
		}
		return nil
	})

	// A restart finds the approved subscriptions and keeps delivering.
	cfg.KafkaAddr, cfg.RegistryAddr = h.broker.Addr(), h.registry.Addr()
	h.stop()
	h2 := startTestHub(t, cfg)
	if err := h2.startExamples(); err != nil {
		t.Fatalf("start examples after restart: %v", err)
	}
}

// TestDevRejectsBadOIDCSettings: SAMNAV_OIDC_* are checked before
// anything starts, each problem naming its variable.
func TestDevRejectsBadOIDCSettings(t *testing.T) {
	t.Setenv("SAMNAV_OIDC_ISSUER", "https://login.example.org")
	t.Setenv("SAMNAV_OIDC_GRANTS", `{"stewards":[{"role":"steward","concept":["unit"]}]}`)
	err := runDev(t.Context(), []string{"--data-dir", t.TempDir()}, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "SAMNAV_OIDC_GRANTS") || !strings.Contains(err.Error(), "SAMNAV_OIDC_AUDIENCE") {
		t.Fatalf("runDev = %v; want a usage error naming SAMNAV_OIDC_GRANTS and SAMNAV_OIDC_AUDIENCE", err)
	}
}
