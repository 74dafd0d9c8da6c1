package masterdata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/contracts/check"
	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/outbox"
	"github.com/samnav/samnav/pkg/pgtest"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
	"github.com/samnav/samnav/services/hubtest"
	"github.com/samnav/samnav/services/masterdata"
)

// The resync size of issue 4 is 1,000,000 persons; the default keeps
// `make bench` within minutes on a small shared machine. Run the full size
// with: go test -run '^$' -bench BenchmarkResync -masterdata.resync=1000000
// or, through make (whose flags would reach every module's test binary),
// MASTERDATA_BENCH_RESYNC=1000000 make bench.
var (
	benchResyncPersons = flag.Int("masterdata.resync", envInt("MASTERDATA_BENCH_RESYNC", 100_000), "persons BenchmarkResync loads and then resyncs (default $MASTERDATA_BENCH_RESYNC or 100000)")
	benchResyncDrivers = flag.String("masterdata.resync-drivers", "sqlite", "stores BenchmarkResync runs on: sqlite, postgres or both")
	benchClients       = flag.Int("masterdata.clients", 4, "concurrent clients of the publish API (BenchmarkAPIToKafka) and of the Service (the resync load)")
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

const (
	benchTopic      = "samnav.person.v1"
	benchRawTopic   = "bench.raw.person"
	benchPartitions = 3 // masterdata's default TopicPartitions
	benchBatch      = 100
	benchSystem     = "folkbokforing" // person's master system in the model
)

// BenchmarkAPIToKafka measures person changes per second from the publish
// API (POST /api/v1/publish/person, batches of benchBatch items from
// -masterdata.clients concurrent clients, as the population register's feed
// would send them) until the outbox relay holds Kafka's acknowledgement
// for every one of them (Relay().Lag == 0). b.N is the number of changes.
//
// Beside it, in the same run and against the same in-process broker, raw
// kafka-go produces the very records the relay published (same keys,
// Avro values and headers, read back from the state topic) to a topic
// with the same partitions, acks=all, in synchronous writes of up to 1000
// records as the relay makes them. "ratio" is changes/s over raw msgs/s.
func BenchmarkAPIToKafka(b *testing.B) {
	regURL := startBenchRegistry(b)
	var cluster *pgtest.Cluster
	parent := b
	b.Run("sqlite", func(b *testing.B) {
		benchAPIToKafka(b, regURL, masterdata.Config{Base: daemon.Base{Driver: masterdata.DriverSQLite, DataDir: b.TempDir()}})
	})
	b.Run("postgres", func(b *testing.B) {
		if cluster == nil {
			// One cluster, stopped with the parent, for every run of the
			// sub-benchmark (b.N grows across runs, and each run's cleanups
			// run when it ends); a fresh database per run.
			cluster = pgtest.Start(parent)
		}
		benchAPIToKafka(b, regURL, masterdata.Config{Base: daemon.Base{Driver: masterdata.DriverPostgres, DSN: cluster.NewDatabase(b)}})
	})
}

func benchAPIToKafka(b *testing.B, regURL string, cfg masterdata.Config) {
	ctx := context.Background()
	n := b.N
	broker := startBenchBroker(b)
	cfg.Addr, cfg.RegistryURL, cfg.LookupOnly = "127.0.0.1:0", regURL, true
	cfg.Brokers, cfg.EnsureTopics = []string{broker.Addr()}, true
	srv := startBenchServer(b, cfg)
	secret, _, err := srv.Tokens().Issue(ctx, auth.IssueRequest{Subject: benchSystem, Kind: auth.KindSystem, Name: benchSystem,
		Grants: []auth.Grant{{Role: auth.RolePublisher, System: benchSystem}}})
	if err != nil {
		b.Fatalf("issue token: %v", err)
	}
	bodies := publishBodies(b, benchPersons(0, n), benchBatch)
	base := "http://" + srv.Addr()

	b.ResetTimer()
	start := time.Now()
	if err := postConcurrently(ctx, base+"/api/v1/publish/person", secret, bodies, *benchClients); err != nil {
		b.Fatal(err)
	}
	if err := waitRelayed(ctx, srv.Relay(), time.Millisecond); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()

	msgs, err := readTopic(ctx, broker.Addr(), benchTopic, n)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := produceRaw(ctx, broker.Addr(), benchRawTopic, msgs)
	if err != nil {
		b.Fatal(err)
	}
	rate, rawRate := float64(n)/took.Seconds(), float64(n)/raw.Seconds()
	b.ReportMetric(rate, "changes/s")
	b.ReportMetric(rawRate, "raw_msgs/s")
	b.ReportMetric(rate/rawRate, "ratio")
}

// BenchmarkResync measures Server.Resync("person") of -masterdata.resync
// persons to a new, empty state topic, from the call until the relay holds
// Kafka's acknowledgement for every republished record.
//
// The persons are loaded first, outside the timing, through the Service
// (one transaction per record: the store has no bulk path) with a relay to
// a first broker; the records that relay published are kept as the raw
// baseline's payloads. The service is then restarted on the same database
// against a second, fresh broker, where raw kafka-go produces those
// payloads to a topic of the same partitions (acks=all, synchronous writes
// of up to 1000 records, as the relay makes them) and then the resync runs.
// "ratio" is records/s over raw msgs/s.
func BenchmarkResync(b *testing.B) {
	regURL := startBenchRegistry(b)
	m := *benchResyncPersons
	if *benchResyncDrivers == "sqlite" || *benchResyncDrivers == "both" {
		b.Run("sqlite", func(b *testing.B) {
			benchResync(b, regURL, m, masterdata.Config{Base: daemon.Base{Driver: masterdata.DriverSQLite, DataDir: b.TempDir()}})
		})
	}
	if *benchResyncDrivers == "postgres" || *benchResyncDrivers == "both" {
		b.Run("postgres", func(b *testing.B) {
			cluster := pgtest.Start(b)
			benchResync(b, regURL, m, masterdata.Config{Base: daemon.Base{Driver: masterdata.DriverPostgres, DSN: cluster.NewDatabase(b)}})
		})
	}
}

func benchResync(b *testing.B, regURL string, m int, cfg masterdata.Config) {
	ctx := context.Background()
	b.StopTimer()
	cfg.Addr, cfg.RegistryURL, cfg.LookupOnly, cfg.EnsureTopics = "127.0.0.1:0", regURL, true, true

	// Load, with a relay to a first broker so the outbox is drained.
	loadBroker := startBenchBroker(b)
	cfg.Brokers = []string{loadBroker.Addr()}
	srv := startBenchServer(b, cfg)
	loadStart := time.Now()
	if err := loadPersons(ctx, srv.Service(), benchPersons(0, m), *benchClients); err != nil {
		b.Fatal(err)
	}
	if err := waitRelayed(ctx, srv.Relay(), 10*time.Millisecond); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(loadStart)
	msgs, err := readTopic(ctx, loadBroker.Addr(), benchTopic, m)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		b.Fatalf("close the loading server: %v", err)
	}
	if err := loadBroker.Close(); err != nil {
		b.Fatalf("close the loading broker: %v", err)
	}
	b.Logf("loaded %d persons in %s (%.0f/s, through the Service and the relay)", m, loaded.Round(time.Millisecond), float64(m)/loaded.Seconds())

	// A new broker: the state topic the resync fills is new and empty.
	broker := startBenchBroker(b)
	cfg.Brokers = []string{broker.Addr()}
	srv = startBenchServer(b, cfg)

	var took, appended, raw time.Duration
	for range b.N {
		r, err := produceRaw(ctx, broker.Addr(), benchRawTopic, msgs)
		if err != nil {
			b.Fatal(err)
		}
		raw += r
		b.StartTimer()
		start := time.Now()
		n, err := srv.Resync(ctx, "person", masterdata.ResyncOptions{})
		if err != nil || n != m {
			b.Fatalf("resync = %d, %v; want %d", n, err, m)
		}
		appended += time.Since(start)
		if err := waitRelayed(ctx, srv.Relay(), 10*time.Millisecond); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		b.StopTimer()
	}
	total := float64(m * b.N)
	rate, rawRate := total/took.Seconds(), total/raw.Seconds()
	b.ReportMetric(took.Seconds()/float64(b.N), "resync_s")
	b.ReportMetric(appended.Seconds()/float64(b.N), "outbox_s")
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(rawRate, "raw_msgs/s")
	b.ReportMetric(raw.Seconds()/float64(b.N), "raw_s")
	b.ReportMetric(rate/rawRate, "ratio")
}

// benchPersons returns persons i in [from, from+n): valid and unique
// personnummer (Luhn check digit, real dates from 1940 to 2019), names,
// an address and half of them a phone number, shaped like the synthetic
// city's persons.
func benchPersons(from, n int) []map[string]any {
	given := []string{"Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Mohammed", "Elsa", "Nils", "Fatima", "Oskar"}
	surnames := []string{"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Ali", "Lindqvist"}
	streets := []string{"Hornsgatan", "Götgatan", "Sveavägen", "Drottninggatan", "Fleminggatan", "Ringvägen", "Odengatan"}
	out := make([]map[string]any, n)
	for k := range n {
		i := from + k
		pnr, birth := hubtest.Personnummer(i)
		g := given[i%len(given)]
		p := map[string]any{
			"personalIdentityNumber":     pnr,
			"givenNames":                 g,
			"preferredGivenName":         g,
			"surname":                    surnames[(i/len(given))%len(surnames)],
			"dateOfBirth":                birth.Format(time.DateOnly),
			"protectedIdentity":          "NONE",
			"registrationStatus":         "REGISTERED",
			"municipalityOfRegistration": "0180",
			"registeredAddress": map[string]any{"streetAddress": fmt.Sprintf("%s %d", streets[i%len(streets)], 1+i%120),
				"postalCode": fmt.Sprintf("1%04d", i%10_000), "postTown": "Stockholm", "municipalityCode": "0180"},
		}
		if i%2 == 0 {
			p["phoneNumbers"] = []any{fmt.Sprintf("+467%08d", i%100_000_000)}
		}
		out[k] = p
	}
	return out
}

// TestBenchPersonsAreValid keeps the benchmarks' generator honest: every
// personnummer passes the model's check and none repeats.
func TestBenchPersonsAreValid(t *testing.T) {
	seen := map[string]bool{}
	for _, from := range []int{0, 999_000} {
		for _, p := range benchPersons(from, 1000) {
			pnr := p["personalIdentityNumber"].(string)
			if err := check.Personnummer(pnr); err != nil {
				t.Fatalf("%s: %v", pnr, err)
			}
			if seen[pnr] {
				t.Fatalf("%s repeats", pnr)
			}
			seen[pnr] = true
		}
	}
}

func publishBodies(b *testing.B, persons []map[string]any, batch int) [][]byte {
	var out [][]byte
	for i := 0; i < len(persons); i += batch {
		items := make([]map[string]any, 0, batch)
		for _, p := range persons[i:min(i+batch, len(persons))] {
			items = append(items, map[string]any{"op": "upsert", "state": p, "reason": "population register notification"})
		}
		body, err := json.Marshal(map[string]any{"items": items})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, body)
	}
	return out
}

// postConcurrently posts every body from clients goroutines and fails on
// the first response that is not 200.
func postConcurrently(ctx context.Context, url, token string, bodies [][]byte, clients int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan []byte)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for body := range next {
				if err := post(ctx, url, token, body); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, body := range bodies {
		select {
		case next <- body:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func post(ctx context.Context, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post %s: status %d: %.500s", url, resp.StatusCode, raw)
	}
	return nil
}

// loadPersons creates persons through the Service as their master system,
// from workers goroutines.
func loadPersons(ctx context.Context, svc masterdata.Service, persons []map[string]any, workers int) error {
	ctx = auth.WithPrincipal(ctx, &auth.Principal{Subject: benchSystem, Kind: auth.KindSystem, Name: benchSystem,
		Grants: []auth.Grant{{Role: auth.RolePublisher, System: benchSystem}}})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(persons) && ctx.Err() == nil; i += workers {
				if _, err := svc.Create(ctx, "person", persons[i], "initial load"); err != nil {
					cancel(fmt.Errorf("create person %d: %w", i, err))
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// waitRelayed returns once the relay has Kafka's acknowledgement for every
// committed outbox entry. Lag counts the backlog, so with a large one it
// polls less often (up to once a second) to leave the database to the
// relay; near the end it polls every every.
func waitRelayed(ctx context.Context, r *outbox.Relay, every time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	for {
		lag, err := r.Lag(ctx)
		if err != nil {
			return fmt.Errorf("relay lag: %w", err)
		}
		if lag == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("relay lag still %d: %w", lag, ctx.Err())
		case <-time.After(min(time.Second, max(every, time.Duration(lag)*time.Microsecond))):
		}
	}
}

// readTopic reads n records from topic's partitions (no consumer group)
// and returns them readdressed to nothing, for producing elsewhere.
func readTopic(ctx context.Context, addr, topic string, n int) ([]kafka.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		out  = make([]kafka.Message, 0, n)
		errs = make(chan error, benchPartitions)
		wg   sync.WaitGroup
	)
	for p := range benchPartitions {
		wg.Go(func() {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxBytes: 4 << 20, MaxWait: 50 * time.Millisecond})
			defer func() { _ = r.Close() }()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("read %s[%d]: %w", topic, p, err)
					}
					return
				}
				mu.Lock()
				out = append(out, kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers})
				done := len(out) >= n
				mu.Unlock()
				if done {
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if len(out) < n {
		return nil, fmt.Errorf("read %d of %d records from %s: %w", len(out), n, topic, ctx.Err())
	}
	return out[:n], nil
}

// produceRaw writes msgs to topic with kafka-go as the relay does
// (Murmur2 partitioner, acks=all, one synchronous write of up to 1000
// records or 1 MiB at a time) and returns how long it took.
func produceRaw(ctx context.Context, addr, topic string, msgs []kafka.Message) (time.Duration, error) {
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchSize: outbox.DefaultBatchSize, BatchBytes: outbox.DefaultBatchBytes, BatchTimeout: 5 * time.Millisecond,
		Transport: &kafka.Transport{}}
	defer func() { _ = w.Close() }()
	start := time.Now()
	for i := 0; i < len(msgs); {
		j, size := i, 0
		for j < len(msgs) && j-i < outbox.DefaultBatchSize && size+len(msgs[j].Value)+len(msgs[j].Key)+256 < outbox.DefaultBatchBytes {
			size += len(msgs[j].Value) + len(msgs[j].Key) + 256
			j++
		}
		if err := w.WriteMessages(ctx, msgs[i:j]...); err != nil {
			return 0, fmt.Errorf("raw kafka-go write: %w", err)
		}
		i = j
	}
	return time.Since(start), nil
}

func startBenchRegistry(b *testing.B) string {
	return hubtest.Start(b, hubtest.WithRegistry()).RegistryURL
}

func startBenchBroker(b *testing.B) *embeddedkafka.Broker {
	return hubtest.Start(b, hubtest.WithBroker(embeddedkafka.Config{
		Topics: []kafkatopics.Spec{{Name: benchRawTopic, Partitions: benchPartitions, Compact: true, Retention: -1}},
		Logger: benchLogger(),
	})).Broker
}

func startBenchServer(b *testing.B, cfg masterdata.Config) *masterdata.Server {
	cfg.TopicPartitions = benchPartitions
	return hubtest.Start(b, hubtest.WithMasterdata(func(c *masterdata.Config, d *masterdata.Deps) { *c, d.Logger = cfg, benchLogger() })).Masterdata
}

// benchLogger shows warnings and errors only: a relay retrying or a
// refused write must be visible, routine lines must not cost time.
func benchLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("component", "bench")
}
