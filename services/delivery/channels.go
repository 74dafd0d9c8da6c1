package delivery

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/keyring"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/services/delivery/client"
	"github.com/samnav/samnav/services/delivery/internal/feed"
	"github.com/samnav/samnav/services/delivery/internal/subscription"
	"github.com/samnav/samnav/services/delivery/internal/webhook"
	whsql "github.com/samnav/samnav/services/delivery/internal/webhook/sqlstore"
)

// channelDB returns the database of the webhook or feed store: on
// PostgreSQL the delivery database; on SQLite a file of its own beside
// delivery.db (SQLite has one writer at a time; the webhook queue and the
// feed log each write with every event).
func (s *Server) channelDB(ctx context.Context, d sqldb.Dialect, name string) (*sql.DB, bool, error) {
	if d == sqldb.Postgres {
		return s.db, false, nil
	}
	var path string
	if s.cfg.DataDir != "" {
		path = filepath.Join(s.cfg.DataDir, name+".db")
	} else {
		path = strings.TrimSuffix(s.dbFile, filepath.Ext(s.dbFile)) + "-" + name + ".db"
	}
	db, _, err := sqldb.Open("sqlite:" + path)
	if err != nil {
		return nil, false, fmt.Errorf("open %s database: %w", name, err)
	}
	if err := db.PingContext(ctx); err != nil {
		err = fmt.Errorf("open %s database: %w", name, err)
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close %s database: %w", name, cerr))
		}
		return nil, false, err
	}
	s.extraDBs = append(s.extraDBs, db)
	return db, true, nil
}

// feedKey returns Config.FeedCursorKey, or the key kept in DataDir, or a
// random one.
func (s *Server) feedKey() ([]byte, error) {
	if len(s.cfg.FeedCursorKey) > 0 {
		return s.cfg.FeedCursorKey, nil
	}
	if s.cfg.DataDir == "" {
		s.logger.Warn("no FeedCursorKey and no DataDir: feed cursors are signed with a random key and do not survive a restart")
		return randomKey()
	}
	path := filepath.Join(s.cfg.DataDir, "feed-cursor.key")
	b, err := os.ReadFile(path) //nolint:gosec // G304: a fixed file name in the operator's configured DataDir
	if err == nil && len(b) >= feed.MinCursorKeyLen {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read feed cursor key: %w", err)
	}
	k, err := randomKey()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, k, 0o600); err != nil {
		return nil, fmt.Errorf("write feed cursor key: %w", err)
	}
	return k, nil
}

// secretKeys returns the keyring webhook secrets are sealed under:
// Config.KeyFile, or DataDir/secrets.key (made on first start), or none.
func (s *Server) secretKeys() (keyring.Keyring, error) {
	if s.cfg.KeyFile != "" {
		kr, err := keyring.LoadFile(s.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("webhook secret keys (%s): %w", EnvKeyFile, err)
		}
		return kr, nil
	}
	if s.cfg.DataDir == "" {
		s.logger.Warn("no key file and no data directory: webhook endpoints cannot be registered until " + EnvKeyFile + " names a key file")
		return nil, nil
	}
	path := filepath.Join(s.cfg.DataDir, "secrets.key")
	kr, err := keyring.LoadOrCreateFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhook secret keys: %w", err)
	}
	s.logger.Info("webhook secrets are encrypted under the key file in the data directory; in production keep the key apart from the database and its backups (" + EnvKeyFile + ")")
	return kr, nil
}

func randomKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("make feed cursor key: %w", err)
	}
	return k, nil
}

// channelStore opens the database of the channel name (channelDB),
// brings its tables to their newest version and builds its store on it.
func channelStore[S any](ctx context.Context, s *Server, d sqldb.Dialect, name string,
	migrate func(context.Context, *sql.DB, sqldb.Dialect) error, newStore func(*sql.DB, sqldb.Dialect) (S, error)) (S, error) {
	var none S
	db, _, err := s.channelDB(ctx, d, name)
	if err != nil {
		return none, err
	}
	if err := migrate(ctx, db, d); err != nil {
		return none, fmt.Errorf("migrate %s store: %w", name, err)
	}
	st, err := newStore(db, d)
	if err != nil {
		return none, fmt.Errorf("%s store: %w", name, err)
	}
	return st, nil
}

// lookupSubscription looks a subscription up for the channels: ok false if
// there is none.
func (s *Server) lookupSubscription(ctx context.Context, id string) (client.Subscription, bool, error) {
	sub, err := s.store.Get(ctx, id)
	if errors.Is(err, subscription.ErrNotFound) {
		return client.Subscription{}, false, nil
	}
	return sub, err == nil, err
}

// channels builds the webhook and feed channels on their SQL stores; the
// webhook channel projects every attempt with m and schemas, as the
// pipeline projects.
func (s *Server) channels(ctx context.Context, d sqldb.Dialect, m *model.Model, schemas map[string]string, deps Deps) error {
	keys, err := s.secretKeys()
	if err != nil {
		return err
	}
	whStore, err := channelStore(ctx, s, d, "webhook", whsql.Migrate, func(db *sql.DB, d sqldb.Dialect) (*whsql.Store, error) {
		return whsql.New(ctx, db, d, keys)
	})
	if err != nil {
		return err
	}
	wcfg := deps.Webhook
	wcfg.Store, wcfg.Logger, wcfg.MeterProvider = whStore, s.base, s.meters
	wcfg.Subscriptions, wcfg.Model, wcfg.Schemas = s.lookupSubscription, m, schemas
	// An employee of a protected person is sent without what locates
	// them, with the person's protection as it is at each attempt.
	wcfg.Protected = s.store.Protected
	wcfg.Addresses = webhook.AddressPolicy{AllowPrivate: s.cfg.WebhookAllowPrivate}
	if s.webhook, err = webhook.New(wcfg); err != nil {
		return fmt.Errorf("webhook channel: %w", err)
	}
	feedStore, err := channelStore(ctx, s, d, "feed", feed.Migrate, feed.NewSQLStore)
	if err != nil {
		return err
	}
	s.feedStore = feedStore
	key, err := s.feedKey()
	if err != nil {
		return err
	}
	s.feed, err = feed.New(feed.Config{Store: feedStore, CursorKey: key, Logger: s.base, MeterProvider: s.meters,
		Subscriptions: s.lookupSubscription})
	if err != nil {
		return fmt.Errorf("feed channel: %w", err)
	}
	return nil
}
