package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	"github.com/samnav/samnav/services/delivery/internal/webhook/webhooktest"
)

// A queued message's body holds the record's unprojected state: the
// database never holds it in plain text, a sealed body moved to another
// message does not open, and a row queued before bodies were sealed (an
// empty body_key_id) is read as the projected envelope it holds.
func TestMessageBodiesAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, keys, s := openKeyed(t, url)
		if err := s.CreateEndpoint(ctx, endpoint("sub1"), webhooktest.MustSecret(t)); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		body := []byte(`{"data":{"registeredAddress":{"streetAddress":"Storgatan 1"}}}`)
		m1, _, err := s.Enqueue(ctx, webhook.Message{SubscriptionID: "sub1", EventID: "e1", Key: "k1", Type: "t", Body: body, CreatedAt: now, NextAttemptAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.EnqueueBatch(ctx, []webhook.Message{{SubscriptionID: "sub1", EventID: "e2", Key: "k2", Type: "t", Body: body, CreatedAt: now, NextAttemptAt: now}}); err != nil {
			t.Fatal(err)
		}
		cur, _ := keys.Current(ctx)
		rows, err := db.QueryContext(ctx, `SELECT event_id, body, body_key_id FROM wh_messages ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var sealed []byte
		n := 0
		for rows.Next() {
			var ev, keyID string
			var b []byte
			if err := rows.Scan(&ev, &b, &keyID); err != nil {
				t.Fatal(err)
			}
			n++
			if bytes.Contains(b, []byte("Storgatan")) || keyID != cur.ID {
				t.Errorf("message %s stored with key %q as %q, want sealed under %s", ev, keyID, b, cur.ID)
			}
			if ev == "e1" {
				sealed = b
			}
		}
		if err := rows.Err(); err != nil || n != 2 {
			t.Fatalf("%d rows, %v", n, err)
		}
		for _, get := range []func() (webhook.Message, error){
			func() (webhook.Message, error) { return s.GetMessage(ctx, "sub1", m1.ID) },
			func() (webhook.Message, error) { return s.Newest(ctx, "sub1", "k2") },
		} {
			got, err := get()
			if err != nil || !bytes.Equal(got.Body, body) || got.Projected {
				t.Fatalf("read back %q (projected %v), %v; want the body enqueued", got.Body, got.Projected, err)
			}
		}
		// e1's sealed body moved into e2's row does not open.
		if _, err := db.ExecContext(ctx, `UPDATE wh_messages SET body = $1 WHERE event_id = 'e2'`, sealed); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Newest(ctx, "sub1", "k2"); !errors.Is(err, keyring.ErrOpen) {
			t.Fatalf("a body sealed for another message = %v, want ErrOpen", err)
		}
		// A row from before version 4: its projected envelope, marked so.
		legacy := []byte(`{"data":{"id":"k2"}}`)
		if _, err := db.ExecContext(ctx, `UPDATE wh_messages SET body = $1, body_key_id = '' WHERE event_id = 'e2'`, legacy); err != nil {
			t.Fatal(err)
		}
		got, err := s.Newest(ctx, "sub1", "k2")
		if err != nil || !bytes.Equal(got.Body, legacy) || !got.Projected {
			t.Fatalf("a row from before sealing read as %q (projected %v), %v", got.Body, got.Projected, err)
		}
	})
}
