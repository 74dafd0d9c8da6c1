package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samnav/samnav/pkg/kafkatopics"
)

func startTestHub(t *testing.T) *devHub {
	t.Helper()
	cfg := devConfig{DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
	h, err := startDev(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start dev hub: %v", err)
	}
	t.Cleanup(h.stop)
	return h
}

func TestDevBrokerServesThirdPartyClient(t *testing.T) {
	h := startTestHub(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.broker.Addr()), kgo.ConsumeTopics("samnav.devcheck.v1"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The broker does not auto-create topics: create it as production would.
	client := &kafka.Client{Addr: kafka.TCP(h.broker.Addr()), Timeout: 5 * time.Second}
	if err := kafkatopics.Ensure(ctx, client, kafkatopics.Spec{Name: "samnav.devcheck.v1", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
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

func TestDevConsoleAnswersAndShutsDownCleanly(t *testing.T) {
	cfg := devConfig{DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(t.Context())
	h, err := startDev(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var banner bytes.Buffer
	h.printBanner(&banner)
	for _, want := range []string{"kafka", "console"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	resp, err := http.Get("http://" + h.httpLn.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("/healthz = %d %q", resp.StatusCode, body)
	}

	done := make(chan error, 1)
	go func() { done <- h.wait() }()
	cancel() // what Ctrl-C does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("wait after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("dev hub did not shut down within 15s of cancel")
	}
	if _, err := http.Get("http://" + h.httpLn.Addr().String() + "/healthz"); err == nil {
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
		{[]string{"--log-level", "loud"}, "log-level"},
	}
	for _, tt := range tests {
		_, err := parseDevFlags(tt.args, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseDevFlags(%q) = %v, want a usage error mentioning %q", tt.args, err, tt.want)
		}
	}
}
