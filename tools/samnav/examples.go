package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	dlclient "github.com/samnav/samnav/services/delivery/client"

	"github.com/ThreeDotsLabs/watermill"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/envelope"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
)

// exampleSystem is a business system `samnav dev` registers as a subscriber,
// so the once-only flow is visible from the first run: each asks for a
// concept with a purpose and a legal basis, is approved for the fields it
// needs, and receives them over its own channel.
type exampleSystem struct {
	ID, Name, Concept, Channel string
	Fields                     []string
	Purpose, Basis, Reference  string
}

var exampleSystems = []exampleSystem{
	{
		ID: "skolplattform", Name: "Skolplattformen", Concept: "person", Channel: "kafka",
		Fields:    []string{"givenNames", "surname", "dateOfBirth", "protectedIdentity", "registeredAddress"},
		Purpose:   "Elev- och barnregister för förskola och skola",
		Basis:     "public_task",
		Reference: "Skollagen (2010:800) 26 kap. 5 §, 29 kap. 9 §",
	},
	{
		ID: "bibliotek", Name: "Bibliotekssystemet", Concept: "person", Channel: "webhook",
		Fields:    []string{"givenNames", "surname", "emailAddress"},
		Purpose:   "Låntagarregister för stadsbiblioteket",
		Basis:     "public_task",
		Reference: "Bibliotekslagen (2013:801) 2 §",
	},
	{
		ID: "hemtjanst", Name: "Hemtjänstens verksamhetssystem", Concept: "unit", Channel: "feed",
		Fields:    []string{"name", "unitType", "address", "phoneNumber", "openingHours"},
		Purpose:   "Planering av hemtjänstinsatser per enhet",
		Basis:     "public_task",
		Reference: "Socialtjänstlagen (2001:453) 4 kap.",
	},
}

// exampleFlow counts what the example systems received.
type exampleFlow struct {
	received map[string]*atomic.Int64
	// kafkaUsers describes each example system's Kafka user, for the
	// integrator (with the password when it was made on this start).
	kafkaUsers []string
}

func (f *exampleFlow) summary() string {
	if f == nil {
		return ""
	}
	parts := make([]string, 0, len(exampleSystems))
	for _, s := range exampleSystems {
		parts = append(parts, fmt.Sprintf("%s (%s over %s): %d", s.ID, s.Concept, s.Channel, f.received[s.ID].Load()))
	}
	return strings.Join(parts, ", ")
}

// startExamples registers and approves the example subscriptions (once per
// data directory) and starts each example system's receiver. The systems
// talk to the hub only through its public APIs and Kafka, as real ones do.
//
// The examples run as long as the hub does (its context), not as long as
// any caller.
func (h *devHub) startExamples() error {
	ctx := h.ctx
	dir := filepath.Join(h.cfg.DataDir, "examples")
	if err := os.MkdirAll(dir, 0o700); err != nil { //nolint:gosec // G703: the examples directory under the data directory the user chose
		return fmt.Errorf("examples: %w", err)
	}
	base, hc := "http://"+h.httpLn.Addr().String(), &http.Client{Timeout: 30 * time.Second}
	adminToken, err := h.exampleToken(ctx, dir, "admin", auth.Grant{Role: auth.RoleAdmin})
	if err != nil {
		return err
	}
	admin := &dlclient.Client{BaseURL: base, Token: adminToken, HTTP: hc}
	h.flow = &exampleFlow{received: map[string]*atomic.Int64{}}
	for _, s := range exampleSystems {
		h.flow.received[s.ID] = &atomic.Int64{}
		token, err := h.exampleToken(ctx, dir, s.ID, auth.Grant{Role: auth.RoleSubscriber, System: s.ID})
		if err != nil {
			return err
		}
		api := &dlclient.Client{BaseURL: base, Token: token, HTTP: hc}
		id, err := ensureSubscription(ctx, admin, api, s)
		if err != nil {
			return fmt.Errorf("example %s: %w", s.ID, err)
		}
		// Every example system gets a Kafka user of its own; delivery
		// grants it ACLs for its approved Kafka subscriptions only.
		var kafkaUser kafkaauth.Config
		if h.cfg.KafkaSASL {
			if kafkaUser, err = h.exampleKafkaUser(ctx, s); err != nil {
				return fmt.Errorf("example %s: %w", s.ID, err)
			}
		}
		counter := h.flow.received[s.ID]
		switch s.Channel {
		case "kafka":
			err = h.exampleKafkaReader(ctx, s, counter, kafkaUser)
		case "webhook":
			err = h.exampleWebhookReceiver(ctx, api, dir, id, s, counter)
		case "feed":
			h.exampleFeedReader(ctx, api, id, counter)
		}
		if err != nil {
			return fmt.Errorf("example %s: %w", s.ID, err)
		}
	}
	return nil
}

// exampleKafkaUser returns the example system's Kafka credentials (made on
// first start and kept in the data directory) and creates or refreshes its
// SCRAM user on the broker over the Kafka protocol.
func (h *devHub) exampleKafkaUser(ctx context.Context, s exampleSystem) (kafkaauth.Config, error) {
	cred, fresh, err := kafkaCredentials(h.cfg.DataDir, s.ID)
	if err != nil {
		return cred, err
	}
	if _, err := h.broker.AddUser(ctx, cred.Username, cred.Password); err != nil {
		return cred, err
	}
	line := fmt.Sprintf("%s: Kafka user %s (%s), password in %s; may read topics samnav.view.%s.* of approved subscriptions in consumer groups %s.*",
		s.ID, cred.Username, cred.Mechanism, kafkaPasswordPath(h.cfg.DataDir, s.ID), s.ID, s.ID)
	if fresh {
		line += "; password (shown this once): " + cred.Password
	}
	h.flow.kafkaUsers = append(h.flow.kafkaUsers, line)
	return cred, nil
}

// exampleToken returns the example principal's API token, held in memory
// only (processToken).
func (h *devHub) exampleToken(ctx context.Context, dir, subject string, g auth.Grant) (string, error) {
	req := auth.IssueRequest{Subject: subject, Kind: auth.KindSystem, Name: subject + " (samnav dev example)", Grants: []auth.Grant{g}}
	if g.Role == auth.RoleAdmin {
		// The information owner who approves the examples' requests.
		req.Subject, req.Kind = "example-owner", auth.KindUser
	}
	return h.processToken(ctx, req, filepath.Join(dir, subject+".token"))
}

// ensureSubscription finds the system's approved subscription of its
// concept, or asks for it as the system (api) and approves it as the
// information owner would (admin).
func ensureSubscription(ctx context.Context, admin, api *dlclient.Client, s exampleSystem) (string, error) {
	subs, err := api.All(ctx, dlclient.Filter{System: s.ID, Concept: s.Concept})
	if err != nil {
		return "", err
	}
	for _, sub := range subs {
		if sub.Status == "approved" {
			return sub.ID, nil
		}
	}
	created, err := api.Request(ctx, dlclient.Request{Concept: s.Concept, Purpose: s.Purpose, Channel: s.Channel, Fields: s.Fields,
		LegalBasis: dlclient.LegalBasis{Basis: s.Basis, Reference: s.Reference}, Reason: "exempelsystem i samnav dev"})
	if err != nil {
		return "", fmt.Errorf("request subscription: %w", err)
	}
	if _, err := admin.Approve(ctx, created.ID, dlclient.Decision{Fields: s.Fields, Reason: "godkänd för exemplet i samnav dev"}); err != nil {
		return "", fmt.Errorf("approve subscription %s: %w", created.ID, err)
	}
	return created.ID, nil
}

// exampleKafkaReader reads the system's view topic, as a Kafka-native
// business system does: with its own Kafka user (cred, zero on an open
// broker) in a consumer group its ACLs allow ("<system>.").
func (h *devHub) exampleKafkaReader(ctx context.Context, s exampleSystem, counter *atomic.Int64, cred kafkaauth.Config) error {
	dialer, err := cred.Dialer(s.ID)
	if err != nil {
		return err
	}
	sub, err := kafkago.NewSubscriber(kafkago.SubscriberConfig{
		Brokers: []string{h.broker.Addr()}, ConsumerGroup: s.ID + ".example", InitialOffset: kafkago.Earliest, Dialer: dialer,
	}, watermill.NopLogger{})
	if err != nil {
		return err
	}
	h.closers = append(h.closers, sub.Close)
	topic := envelope.ViewTopic(s.ID, s.Concept, 1)
	go func() {
		// The view topic appears once delivery has started the
		// subscription's pipeline; retry until then.
		for ctx.Err() == nil {
			msgs, err := sub.Subscribe(ctx, topic)
			if err != nil {
				h.logger.Debug("example kafka reader: view topic not ready", "topic", topic, "err", err)
				time.Sleep(time.Second)
				continue
			}
			for m := range msgs {
				counter.Add(1)
				m.Ack()
			}
			return
		}
	}()
	return nil
}

// exampleWebhookReceiver runs the system's webhook endpoint on loopback,
// verifying every delivery's Standard Webhooks signature.
func (h *devHub) exampleWebhookReceiver(ctx context.Context, api *dlclient.Client, dir, subID string, s exampleSystem, counter *atomic.Int64) error {
	secretPath := filepath.Join(dir, s.ID+".webhook-secret")
	secret, err := os.ReadFile(secretPath) //nolint:gosec // G703: a file named by a built-in example system, under the data directory the user chose
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		secret = []byte("whsec_" + base64.StdEncoding.EncodeToString(raw))
		if err := os.WriteFile(secretPath, secret, 0o600); err != nil { //nolint:gosec // G703: a file named by a built-in example system, under the data directory the user chose
			return err
		}
	} else if err != nil {
		return err
	}
	wh, err := standardwebhooks.NewWebhook(strings.TrimSpace(string(secret)))
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			h.logger.Warn("example webhook: signature does not verify", "system", s.ID, "err", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		counter.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(ln) }()
	h.closers = append(h.closers, srv.Close)
	// The hub registers the endpoint with the kept secret, or, when it has
	// the endpoint already, changes its URL and keeps the secret it has.
	if _, err := api.PutWebhook(ctx, subID, "http://"+ln.Addr().String()+"/samnav", strings.TrimSpace(string(secret))); err != nil {
		return fmt.Errorf("register webhook endpoint: %w", err)
	}
	return nil
}

// exampleFeedReader pulls the system's feed, as a system behind a firewall
// does: the snapshot page by page, then changes with long-polling.
func (h *devHub) exampleFeedReader(ctx context.Context, api *dlclient.Client, subID string, counter *atomic.Int64) {
	go func() {
		cursor, follow := "", ""
		for ctx.Err() == nil {
			page, err := api.Snapshot(ctx, subID, cursor, 500)
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			counter.Add(int64(len(page.Items)))
			follow = page.ChangesCursor
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		for ctx.Err() == nil {
			changes, err := api.Changes(ctx, subID, follow, 500, 20*time.Second)
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			counter.Add(int64(len(changes.Items)))
			if changes.NextCursor != "" {
				follow = changes.NextCursor
			}
		}
	}()
}
