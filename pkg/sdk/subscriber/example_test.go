package subscriber_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"os/signal"

	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/sqldb"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
	"github.com/samnav/samnav/pkg/sdk/subscriber/sqlstore"
)

// PersonV1 stands in for concepts.PersonV1, generated into the contracts
// module (github.com/samnav/samnav/contracts/concepts), whose schema is
// contracts.Contracts()'s entry for the topic samnav.person.v1.
type PersonV1 struct {
	ID         string `avro:"id"`
	GivenNames string `avro:"givenNames"`
}

const personSchema = `{"type":"record","name":"PersonV1","namespace":"se.samnav.concepts",
	"fields":[{"name":"id","type":"string"},{"name":"givenNames","type":"string"}]}`

// A school platform keeps its own copy of persons: it reads the state topic
// from the start (the snapshot), then follows every change, each event
// applied once, in its own PostgreSQL database.
func Example() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The driver is the importer's choice: import _ "github.com/jackc/pgx/v5/stdlib".
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := sqlstore.Migrate(ctx, db, sqldb.Postgres); err != nil {
		return err
	}
	store, err := sqlstore.New(db)
	if err != nil {
		return err
	}
	reg, err := avroserde.NewRegistryClient("http://localhost:8081")
	if err != nil {
		return err
	}

	// The brokers, SASL credentials, TLS and timeouts, as the hub's
	// services read theirs: KAFKA_BROKERS, KAFKA_SASL_MECHANISM, _USERNAME,
	// _PASSWORD, KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_*_TIMEOUT.
	settings, err := kafkaauth.LoadSettings(os.Getenv, "")
	if err != nil {
		return err
	}
	s, err := subscriber.New(subscriber.Config{
		Group:      "skolplattform.persons", // on the hub's broker: "<system>.*"
		Registry:   reg,
		Store:      store,
		OnCaughtUp: func() { log.Print("snapshot done, following changes") },
	}.WithKafka(settings), subscriber.Handle("samnav.person.v1", personSchema,
		func(ctx context.Context, ev subscriber.Event[PersonV1]) error {
			switch ev.Type {
			case subscriber.Erased: // a tombstone: forget everything held under ev.Key
				_, err := db.ExecContext(ctx, `DELETE FROM persons WHERE id = $1`, ev.Key)
				return err
			default: // Changed or Ended: ev.Value is the full current state
				_, err := db.ExecContext(ctx, `INSERT INTO persons (id, given_names, revision) VALUES ($1, $2, $3)
					ON CONFLICT (id) DO UPDATE SET given_names = excluded.given_names, revision = excluded.revision`,
					ev.Key, ev.Value.GivenNames, ev.Revision)
				return err
			}
		}))
	if err != nil {
		return err
	}
	return s.Run(ctx) // until ctx ends
}
