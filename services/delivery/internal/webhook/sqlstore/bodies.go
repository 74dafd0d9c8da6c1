package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// A message's body (webhook.Message.Body: the event with the record's
// unprojected state, which every send projects again) is personal data
// the subscription may not all receive, so it is stored sealed
// (keyring.Seal, AES-256-GCM): wh_messages.body holds nonce||ciphertext
// and wh_messages.body_key_id the id of the key that sealed it. The
// associated data is the message's subscription and event id, so a sealed
// body copied into another message's row does not open. A row with an
// empty body_key_id was queued before version 4 of the schema and holds
// the projected envelope it was to send, in plain text: it is read with
// Message.Projected set, and projected again before each send too.

// bodyAD is the associated data that binds a sealed body to its message.
func bodyAD(subscriptionID, eventID string) []byte {
	return []byte("samnav webhook message\x00" + subscriptionID + "\x00" + eventID)
}

// sealed is a message body as stored.
type sealed struct {
	keyID string
	body  []byte
}

// sealBody returns m's body as stored.
func (s *Store) sealBody(ctx context.Context, m webhook.Message) (sealed, error) {
	keyID, b, err := keyring.Seal(ctx, s.keys, m.Body, bodyAD(m.SubscriptionID, m.EventID))
	if errors.Is(err, keyring.ErrNoKey) {
		return sealed{}, apierr.Errorf(apierr.CodeUnavailable, "webhook messages cannot be stored: no encryption key is configured (%s)", keyring.EnvFile).Wrap(err)
	}
	if err != nil {
		return sealed{}, unavailable("seal message body", err)
	}
	return sealed{keyID: keyID, body: b}, nil
}

// sealBodies seals the body of every message of ms, in order.
func (s *Store) sealBodies(ctx context.Context, ms []webhook.Message) ([]sealed, error) {
	out := make([]sealed, len(ms))
	for i, m := range ms {
		var err error
		if out[i], err = s.sealBody(ctx, m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// openBody replaces m.Body, as stored under keyID, by its plain form.
func (s *Store) openBody(ctx context.Context, m *webhook.Message, keyID string) error {
	if keyID == "" {
		m.Projected = true
		return nil
	}
	plain, err := keyring.Open(ctx, s.keys, keyID, m.Body, bodyAD(m.SubscriptionID, m.EventID))
	if err != nil {
		return fmt.Errorf("read body of webhook message %d: %w", m.ID, err)
	}
	m.Body = plain
	return nil
}
