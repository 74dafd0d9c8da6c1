package subscriber_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/avroserde"
	"github.com/samnav/samnav/pkg/sdk/kafkago"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/pkg/sdk/subscriber"
)

// A school platform keeps its own copy of persons: it reads the state
// topic from the start (the snapshot), learns when it has caught up, and
// then follows every change. In a real system Person is
// concepts.PersonV1 and its schema comes from contracts.Contracts(); the
// registry is the hub's (avroserde.NewRegistryClient(url)).
func Example() {
	if err := runExample(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// changed p-1: Astrid
	// snapshot done
	// changed p-1: Astrid Anna
}

// runExample is Example's body: returning its error, rather than exiting
// in the middle, lets its deferred clean-ups run.
func runExample() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{Topics: []kafkatopics.Spec{{Name: "samnav.person.v1", Partitions: 1, Compact: true}}})
	if err != nil {
		return err
	}
	defer broker.Close()
	srv, reg := newRegistry() // in production: avroserde.NewRegistryClient(registryURL)
	defer srv.Close()
	if err := publishExamplePerson(ctx, broker.Addr(), reg, "p-1", "Astrid"); err != nil {
		return err
	}

	var mu sync.Mutex
	persons := map[string]string{} // the system's own store
	applied := make(chan string, 10)
	s, err := subscriber.New(subscriber.Config{
		Brokers:                []string{broker.Addr()},
		Group:                  "school-platform",
		Registry:               reg,
		Store:                  &subscriber.MemoryStore{}, // sqlstore.New(db) in production
		CreateDeadLetterTopics: true,
	}, subscriber.Handle("samnav.person.v1", personSchema, func(ctx context.Context, ev subscriber.Event[Person]) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == subscriber.Erased {
			delete(persons, ev.Key)
			return nil
		}
		persons[ev.Key] = ev.Value.GivenNames
		fmt.Printf("%s %s: %s\n", ev.Type, ev.Key, ev.Value.GivenNames)
		applied <- ev.Value.GivenNames
		return nil
	}))
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	<-s.CaughtUp() // or Config.OnCaughtUp
	fmt.Println("snapshot done")
	if err := publishExamplePerson(ctx, broker.Addr(), reg, "p-1", "Astrid Anna"); err != nil {
		stop()
		return errors.Join(err, <-done)
	}
	for name := range applied {
		if name == "Astrid Anna" {
			break
		}
	}
	stop()
	return <-done
}

// publishExamplePerson writes a person as the hub does.
func publishExamplePerson(ctx context.Context, addr string, reg *avroserde.RegistryClient, id, name string) (err error) {
	ser, err := avroserde.NewSerializer(reg, "samnav.person.v1-value", personSchema)
	if err != nil {
		return err
	}
	b, err := ser.EncodeContext(ctx, &Person{ID: id, GivenNames: name})
	if err != nil {
		return err
	}
	pub, err := kafkago.NewPublisher(kafkago.PublisherConfig{Brokers: []string{addr}}, nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, pub.Close()) }()
	return pub.Publish("samnav.person.v1", newRecord(id, id+"-"+name, "changed", b))
}
