package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/samnav/samnav/contracts"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/tools/samnav/internal/bulkimport"
)

func init() {
	register(command{name: "import", summary: "load a CSV or NDJSON file of records into master data, validated row by row; resumable", run: runImport})
	register(command{name: "resync", summary: "republish the current state of every record of a concept to its state topic", run: runResync})
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("samnav import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "the hub's API address")
	token := fs.String("token", os.Getenv("SAMNAV_TOKEN"), "API token (default $SAMNAV_TOKEN): a steward's for concepts the hub masters, the master system's for others")
	concept := fs.String("concept", "", "the concept the file holds, e.g. person (required)")
	format := fs.String("format", "", "csv or ndjson (default: from the file name)")
	report := fs.String("report", "", "where rejected rows are written as NDJSON (default <file>.rejected.ndjson)")
	checkpoint := fs.String("checkpoint", "", "progress file for resuming (default <file>.checkpoint; \"-\" for none)")
	reason := fs.String("reason", "bulk import", "the reason recorded in every record's history")
	if err := parseFlags(fs, args, "Usage: samnav import --concept <concept> [flags] <file>\n\nA CSV file has a header naming attributes; nested ones are dotted\n(registeredAddress.postalCode) and list items are separated by '|'.\nRun it again after an interruption and it resumes where it stopped.\n\nFlags:"); err != nil {
		return err
	}
	m, err := contracts.Model()
	if err != nil {
		return err
	}
	var problems []string
	if fs.NArg() != 1 {
		problems = append(problems, "exactly one file to import must be named")
	}
	c := m.Concept(*concept)
	if c == nil {
		ids := make([]string, 0, len(m.Concepts))
		for _, c := range m.Concepts {
			ids = append(ids, c.ID)
		}
		problems = append(problems, fmt.Sprintf("--concept %q: must be one of %s", *concept, strings.Join(ids, ", ")))
	}
	if *token == "" {
		problems = append(problems, "--token: required (or set SAMNAV_TOKEN)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	file := fs.Arg(0)
	f := bulkimport.Format(*format)
	if f == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			f = bulkimport.CSV
		case ".ndjson", ".jsonl":
			f = bulkimport.NDJSON
		default:
			return fmt.Errorf("%w: --format: cannot tell the format of %q from its name; say csv or ndjson", errUsage, file)
		}
	}
	if *report == "" {
		*report = file + ".rejected.ndjson"
	}
	switch *checkpoint {
	case "":
		*checkpoint = file + ".checkpoint"
	case "-":
		*checkpoint = ""
	}
	rep, err := os.OpenFile(*report, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open report: %w", err)
	}
	defer func() {
		// The report holds the rejected rows: a failed close may have lost some.
		if cerr := rep.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close report %s: %w", *report, cerr))
		}
	}()

	start := time.Now()
	last := time.Time{}
	progress := func(p bulkimport.Progress) {
		if time.Since(last) < 500*time.Millisecond && p.BytesRead < p.BytesTotal {
			return
		}
		last = time.Now()
		pct := 100.0
		if p.BytesTotal > 0 {
			pct = 100 * float64(p.BytesRead) / float64(p.BytesTotal)
		}
		_, _ = fmt.Fprintf(stderr, "\r%5.1f%%  %d rows: %d stored, %d rejected, %d done before  (%.0f rows/s)  ",
			pct, p.Rows, p.Stored, p.Rejected, p.Skipped, float64(p.Rows-p.Skipped)/time.Since(start).Seconds())
	}
	sink := &bulkimport.HTTPSink{BaseURL: *url, Token: *token, Model: m, Reason: *reason}
	p, err := bulkimport.Run(ctx, bulkimport.Config{
		Concept: c, Format: f, Input: file, Report: rep, CheckpointPath: *checkpoint, Progress: progress,
	}, sink)
	_, _ = fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "Imported %s: %d rows, %d stored, %d rejected (see %s), %d done by an earlier run.\n",
		file, p.Rows, p.Stored, p.Rejected, *report, p.Skipped); err != nil {
		return fmt.Errorf("import: write result: %w", err)
	}
	if p.Rejected > 0 {
		return fmt.Errorf("%d rows were rejected; fix them and import the report's rows again", p.Rejected)
	}
	return nil
}

func runResync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("samnav resync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := masterdata.LoadConfig(os.Getenv)
	if err != nil {
		return fmt.Errorf("samnav resync: %w", err)
	}
	fs.StringVar(&cfg.Database, "database", cfg.Database, "master data database URL: sqlite:PATH or postgres://... (see pkg/sdk/sqldb); the newer form of --driver and --dsn")
	fs.StringVar(&cfg.Driver, "driver", orDefault(cfg.Driver, masterdata.DriverSQLite), "master data database: sqlite or postgres")
	fs.StringVar(&cfg.DSN, "dsn", cfg.DSN, "database: a PostgreSQL connection string, or a SQLite file")
	fs.StringVar(&cfg.DataDir, "data-dir", orDefault(cfg.DataDir, filepath.Join("data", "masterdata")), "for sqlite without --dsn: the directory of masterdata.db (samnav dev: <data-dir>/masterdata)")
	fs.StringVar(&cfg.RegistryURL, "registry-url", orDefault(cfg.RegistryURL, "http://127.0.0.1:8081"), "schema registry the events are encoded against")
	batch := fs.Int("batch", 1000, "records per transaction")
	if err := parseFlags(fs, args, "Usage: samnav resync [flags] <concept>\n\nRepublishes the current state of every record of the concept through the\noutbox; the running master data service's relay sends them to the state\ntopic. Use it to rebuild a topic or to onboard a subscriber.\n\nFlags:"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: name exactly one concept to resync", errUsage)
	}
	if *batch < 1 {
		return fmt.Errorf("%w: --batch: must be at least 1", errUsage)
	}
	cfg.LookupOnly = true
	cfg.Brokers = nil // the service's relay publishes; this process only fills the outbox
	start := time.Now()
	n, err := masterdata.Resync(ctx, cfg, masterdata.Deps{Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))},
		fs.Arg(0), masterdata.ResyncOptions{BatchSize: *batch, Progress: func(done int) {
			_, _ = fmt.Fprintf(stderr, "\r%d records queued (%.0f/s)  ", done, float64(done)/time.Since(start).Seconds())
		}})
	_, _ = fmt.Fprintln(stderr)
	if err != nil {
		return fmt.Errorf("resync %s after %d records: %w", fs.Arg(0), n, err)
	}
	if _, err := fmt.Fprintf(stdout, "Queued %d %s records for republishing in %s; the relay sends them to Kafka.\n", n, fs.Arg(0), time.Since(start).Round(time.Millisecond)); err != nil {
		return fmt.Errorf("resync %s: write result: %w", fs.Arg(0), err)
	}
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
