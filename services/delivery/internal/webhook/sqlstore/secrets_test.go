package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sqldb/sqldbtest"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	"github.com/samnav/samnav/services/delivery/internal/webhook/sqlstore"
	"github.com/samnav/samnav/services/delivery/internal/webhook/webhooktest"
)

type storedSecret struct{ sub, secret, keyID string }

// stored returns the secrets' columns as the database holds them.
func stored(t *testing.T, db *sql.DB) []storedSecret {
	t.Helper()
	rows, err := sqldb.Query(context.Background(), db, func(r sqldb.Scanner) (storedSecret, error) {
		var s storedSecret
		return s, r.Scan(&s.sub, &s.secret, &s.keyID)
	}, `SELECT subscription_id, secret, key_id FROM wh_secrets ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// plainText reports whether column text holds sec in any form the store
// could have written it: whsec_<base64>, the base64 alone.
func plainText(column string, sec webhook.Secret) bool {
	return strings.Contains(column, sec.String()) || strings.Contains(column, strings.TrimPrefix(sec.String(), webhook.SecretPrefix))
}

func endpoint(id string) webhook.Endpoint {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	return webhook.Endpoint{SubscriptionID: id, URL: "https://receiver.example/" + id, Owner: "o", Status: webhook.StatusEnabled, CreatedAt: t0, UpdatedAt: t0}
}

// openKeyed opens a migrated store at url under a fresh keyring.
func openKeyed(t *testing.T, url string) (*sql.DB, keyring.Keyring, *sqlstore.Store) {
	t.Helper()
	db, d := sqldbtest.Open(t, url)
	sqldbtest.Migrate(t, sqlstore.Migrate, db, d)
	keys := webhooktest.Keys(t)
	s, err := sqlstore.New(t.Context(), db, d, keys)
	if err != nil {
		t.Fatal(err)
	}
	return db, keys, s
}

func TestSecretsAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		db, keys, s := openKeyed(t, url)
		first, second, other := webhooktest.MustSecret(t), webhooktest.MustSecret(t), webhooktest.MustSecret(t)
		if err := s.CreateEndpoint(ctx, endpoint("sub1"), first); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := s.AddSecret(ctx, "sub1", second, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateEndpoint(ctx, endpoint("sub2"), other); err != nil {
			t.Fatal(err)
		}
		cur, _ := keys.Current(ctx)
		rows := stored(t, db)
		if len(rows) != 3 {
			t.Fatalf("%d secret rows, want 3", len(rows))
		}
		for _, r := range rows {
			for _, sec := range []webhook.Secret{first, second, other} {
				if plainText(r.secret, sec) {
					t.Errorf("the secret column of %s holds a secret in plain text", r.sub)
				}
			}
			if r.keyID != cur.ID {
				t.Errorf("key_id %q, want the current key %s", r.keyID, cur.ID)
			}
		}
		ep, err := s.GetEndpoint(ctx, "sub1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ep.Secrets) != 2 || ep.Secrets[0].Secret.String() != first.String() || ep.Secrets[1].Secret.String() != second.String() {
			t.Fatal("GetEndpoint does not return the secrets stored")
		}
		// A sealed secret copied into another endpoint's row does not open:
		// the ciphertext is bound to its endpoint.
		if _, err := db.ExecContext(ctx, `UPDATE wh_secrets SET secret = $1, key_id = $2 WHERE subscription_id = 'sub2'`, rows[0].secret, rows[0].keyID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetEndpoint(ctx, "sub2"); !errors.Is(err, keyring.ErrOpen) {
			t.Fatalf("GetEndpoint with another endpoint's sealed secret = %v, want ErrOpen", err)
		}
		// Nor does a plain-text row written behind the store's back.
		if _, err := db.ExecContext(ctx, `UPDATE wh_secrets SET secret = $1, key_id = '' WHERE subscription_id = 'sub2'`, other.String()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetEndpoint(ctx, "sub2"); err == nil {
			t.Fatal("GetEndpoint used a plain-text secret")
		}
	})
}

func TestNoKeyStoresNoSecret(t *testing.T) {
	ctx := context.Background()
	db, d := sqldbtest.Open(t, "sqlite:"+t.TempDir()+"/wh.db")
	sqldbtest.Migrate(t, sqlstore.Migrate, db, d)
	s, err := sqlstore.New(ctx, db, d, nil)
	if err != nil {
		t.Fatalf("New without a key on an empty database: %v", err)
	}
	err = s.CreateEndpoint(ctx, endpoint("sub1"), webhooktest.MustSecret(t))
	if err == nil || !strings.Contains(err.Error(), keyring.EnvFile) {
		t.Fatalf("CreateEndpoint without a key = %v, want an error naming %s", err, keyring.EnvFile)
	}
	if n := len(stored(t, db)); n != 0 {
		t.Errorf("%d secrets stored without a key", n)
	}
}

// A database an earlier release filled with plain-text secrets: the store
// refuses to start without a key, and with one seals every row.
func TestUpgradeEncryptsPlaintextSecrets(t *testing.T) {
	ctx := context.Background()
	sqldbtest.OnBoth(t, func(t *testing.T, url string) {
		sec := webhooktest.MustSecret(t)
		db, d := sqldbtest.OldRelease(t, url, append(sqldbtest.SQLMigrateRecord("wh_migrations", "0001_webhooks.sql"),
			`INSERT INTO wh_endpoints (subscription_id, url, owner, status, created_at, updated_at) VALUES ('sub1', 'https://receiver.example/', 'o', 'enabled', 1, 1)`,
			`INSERT INTO wh_secrets (subscription_id, secret, created_at) VALUES ('sub1', '`+sec.String()+`', 1)`)...)
		sqldbtest.Migrate(t, sqlstore.Migrate, db, d)
		_, err := sqlstore.New(ctx, db, d, nil)
		if err == nil || !strings.Contains(err.Error(), keyring.EnvFile) || !strings.Contains(err.Error(), "1 webhook secrets") {
			t.Fatalf("New without a key on plain-text secrets = %v, want an error naming %s", err, keyring.EnvFile)
		}
		if rows := stored(t, db); rows[0].secret != sec.String() || rows[0].keyID != "" {
			t.Fatal("the refused start changed the stored secret")
		}
		s := sqldbtest.NewStore(t, func(ctx context.Context, db *sql.DB, d sqldb.Dialect) (*sqlstore.Store, error) {
			return sqlstore.New(ctx, db, d, webhooktest.KeysFrom(t, "k1"))
		}, db, d)
		rows := stored(t, db)
		if len(rows) != 1 || plainText(rows[0].secret, sec) || rows[0].keyID != "k1" {
			t.Fatalf("after the upgrade the row is %+v, want it sealed under k1", rows)
		}
		ep, err := s.GetEndpoint(ctx, "sub1")
		if err != nil || len(ep.Secrets) != 1 || ep.Secrets[0].Secret.String() != sec.String() {
			t.Fatalf("GetEndpoint after the upgrade = %v, %v", ep.Secrets, err)
		}
	})
}
