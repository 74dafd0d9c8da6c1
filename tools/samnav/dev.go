package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/kafkatopics"
)

func init() {
	register(command{
		name:    "dev",
		summary: "run the whole hub in one process on the embedded defaults (broker, registry, console)",
		run:     runDev,
	})
}

// devConfig is what `samnav dev` runs with. Every address defaults to
// loopback: the embedded default is for one developer's machine.
type devConfig struct {
	DataDir      string
	KafkaAddr    string
	RegistryAddr string
	HTTPAddr     string
	LogLevel     slog.Level
}

func (c devConfig) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	for name, addr := range map[string]string{"--kafka-addr": c.KafkaAddr, "--registry-addr": c.RegistryAddr, "--http-addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: must be host:port: %w", name, addr, err))
		}
	}
	return errors.Join(errs...)
}

func parseDevFlags(args []string, stderr io.Writer) (devConfig, error) {
	fs := flag.NewFlagSet("samnav dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := devConfig{}
	fs.StringVar(&cfg.DataDir, "data-dir", "data", "directory for the broker's log, SQLite databases and other state")
	fs.StringVar(&cfg.KafkaAddr, "kafka-addr", embeddedkafka.DefaultAddr, "address of the embedded Kafka broker")
	fs.StringVar(&cfg.RegistryAddr, "registry-addr", "127.0.0.1:8081", "address of the schema registry (Confluent REST API)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8080", "address of the console and APIs")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: samnav dev [flags]\n\nRuns the embedded Kafka broker and every Samnav service in one process.\nState is kept in --data-dir; stop with Ctrl-C.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: samnav dev takes no arguments, got %q", errUsage, fs.Args())
	}
	if err := cfg.validate(); err != nil {
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	return cfg, nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseDevFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	h, err := startDev(ctx, cfg, logger)
	if err != nil {
		return err
	}
	h.printBanner(stdout)
	return h.wait()
}

// devHub is a running `samnav dev`: every component started, with the
// addresses each one actually bound.
type devHub struct {
	cfg    devConfig
	logger *slog.Logger
	broker *embeddedkafka.Broker
	http   *http.Server
	httpLn net.Listener
	group  *errgroup.Group
	cancel context.CancelFunc

	components []component
}

// component is one line of the start-up banner.
type component struct {
	Name, Addr, What string
}

// startDev starts every component and returns once all accept connections.
// On error, whatever was started is stopped again.
func startDev(ctx context.Context, cfg devConfig, logger *slog.Logger) (_ *devHub, err error) {
	ctx, cancel := context.WithCancel(ctx)
	h := &devHub{cfg: cfg, logger: logger, cancel: cancel}
	defer func() {
		if err != nil {
			h.stop()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}

	h.broker, err = embeddedkafka.Start(ctx, embeddedkafka.Config{
		Addr:    cfg.KafkaAddr,
		DataDir: filepath.Join(cfg.DataDir, "kafka"),
		Topics:  devTopics(),
		Logger:  logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka (is another broker on %s? use --kafka-addr): %w", cfg.KafkaAddr, err)
	}
	h.components = append(h.components, component{"kafka", h.broker.Addr(), "embedded Kafka-protocol broker, data in " + filepath.Join(cfg.DataDir, "kafka")})

	h.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for console on %s: %w", cfg.HTTPAddr, err)
	}
	h.http = &http.Server{Handler: h.routes(), ReadHeaderTimeout: 10 * time.Second}
	h.components = append(h.components, component{"console", "http://" + h.httpLn.Addr().String(), "console, APIs and /healthz"})

	var gctx context.Context
	h.group, gctx = errgroup.WithContext(ctx)
	h.group.Go(func() error {
		if err := h.http.Serve(h.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("console server: %w", err)
		}
		return nil
	})
	h.group.Go(func() error {
		<-gctx.Done()
		h.stop()
		return nil
	})
	return h, nil
}

// devTopics are the topics `samnav dev` makes sure exist.
func devTopics() []kafkatopics.Spec {
	return nil
}

func (h *devHub) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statusPage.Execute(w, h.components); err != nil {
			h.logger.Error("render status page", "err", err)
		}
	})
	return mux
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Samnav dev</title></head>
<body><main>
<h1>Samnav – delad datahubb (dev)</h1>
<p>Det här kör i processen / running in this process:</p>
<table><thead><tr><th scope="col">Komponent</th><th scope="col">Adress</th><th scope="col">Vad</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Name}}</td><td><code>{{.Addr}}</code></td><td>{{.What}}</td></tr>
{{end}}</tbody></table>
</main></body></html>
`))

func (h *devHub) printBanner(w io.Writer) {
	fmt.Fprintln(w, "Samnav dev is running. Stop with Ctrl-C.")
	for _, c := range h.components {
		fmt.Fprintf(w, "  %-10s %-28s %s\n", c.Name, c.Addr, c.What)
	}
}

// wait blocks until the hub stops (context cancelled or a component
// failed) and everything has shut down.
func (h *devHub) wait() error {
	err := h.group.Wait()
	h.stop()
	return err
}

// stop shuts every component down, the servers first so that no request is
// cut off by a broker that is already gone. It is safe to call more than once.
func (h *devHub) stop() {
	h.cancel()
	if h.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := h.http.Shutdown(ctx); err != nil {
			h.logger.Warn("console shutdown", "err", err)
		}
		cancel()
	} else if h.httpLn != nil {
		_ = h.httpLn.Close()
	}
	if h.broker != nil {
		_ = h.broker.Close()
	}
}
