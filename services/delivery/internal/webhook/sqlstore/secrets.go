package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/apierr"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
)

// Webhook signing secrets are stored sealed (keyring.Seal, AES-256-GCM):
// wh_secrets.secret holds base64(nonce||ciphertext) and wh_secrets.key_id
// the id of the key that sealed it. The associated data is the endpoint's
// subscription id, so a sealed secret copied into another endpoint's row
// does not open. A row with an empty key_id holds a secret in plain text,
// as releases before version 2 of the schema stored it; New seals those
// rows, and the store never reads one (a plain-text row written behind its
// back would let its writer choose the signing secret).

// secretAD is the associated data that binds a sealed secret to its
// endpoint.
func secretAD(subscriptionID string) []byte {
	return []byte("samnav webhook secret\x00" + subscriptionID)
}

// sealSecret returns the key id and the column text of sec for endpoint id.
func (s *Store) sealSecret(ctx context.Context, id, plain string) (string, string, error) {
	keyID, sealed, err := keyring.Seal(ctx, s.keys, []byte(plain), secretAD(id))
	if errors.Is(err, keyring.ErrNoKey) {
		return "", "", apierr.Errorf(apierr.CodeUnavailable, "webhook secrets cannot be stored: no encryption key is configured (%s)", keyring.EnvFile).Wrap(err)
	}
	if err != nil {
		return "", "", unavailable("seal secret", err)
	}
	return keyID, base64.StdEncoding.EncodeToString(sealed), nil
}

// openSecret returns the secret stored in row rowID of endpoint id.
func (s *Store) openSecret(ctx context.Context, id string, rowID int64, keyID, stored string) (webhook.Secret, error) {
	if keyID == "" {
		return webhook.Secret{}, fmt.Errorf("read secret %d of %s: stored unencrypted; restart the service with a key (%s) to encrypt it", rowID, id, keyring.EnvFile)
	}
	sealed, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return webhook.Secret{}, fmt.Errorf("read secret %d of %s: not base64: %w", rowID, id, err)
	}
	plain, err := keyring.Open(ctx, s.keys, keyID, sealed, secretAD(id))
	if err != nil {
		return webhook.Secret{}, fmt.Errorf("read secret %d of %s: %w", rowID, id, err)
	}
	sec, err := webhook.ParseSecret(string(plain))
	if err != nil {
		return webhook.Secret{}, fmt.Errorf("parse stored secret %d: %w", rowID, err)
	}
	return sec, nil
}

// sealPlaintext seals every secret stored in plain text, in one
// transaction. Without a keyring it refuses to start if any secret is
// stored at all: neither the plain-text ones nor the sealed ones could be
// used.
func (s *Store) sealPlaintext(ctx context.Context) error {
	if s.keys == nil {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM wh_secrets`).Scan(&n); err != nil {
			return fmt.Errorf("count webhook secrets: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("the database holds %d webhook secrets and no encryption key is configured: set %s to the key file (see docs/configuration.md)", n, keyring.EnvFile)
		}
		return nil
	}
	type row struct {
		id          int64
		sub, secret string
	}
	return s.write(ctx, func(tx runner) error {
		rows, err := sqldb.Query(ctx, tx, func(r sqldb.Scanner) (row, error) {
			var w row
			return w, r.Scan(&w.id, &w.sub, &w.secret)
		}, `SELECT id, subscription_id, secret FROM wh_secrets WHERE key_id = '' ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read unencrypted webhook secrets: %w", err)
		}
		for _, w := range rows {
			keyID, sealed, err := s.sealSecret(ctx, w.sub, w.secret)
			if err != nil {
				return fmt.Errorf("encrypt webhook secret %d: %w", w.id, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE wh_secrets SET secret = $1, key_id = $2 WHERE id = $3`, sealed, keyID, w.id); err != nil {
				return fmt.Errorf("encrypt webhook secret %d: %w", w.id, err)
			}
		}
		return nil
	})
}
