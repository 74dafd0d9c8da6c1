package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"

	"github.com/samnav/samnav/pkg/telemetry"
)

// Setup builds the process's logger and telemetry from cfg: logs to out
// (os.Stderr when nil) in cfg's format and level, traces and metrics to
// OTLP when cfg.OTLPEndpoint is set, metrics always to the Prometheus
// handler Serve mounts at /metrics. The caller flushes with
// Telemetry.Shutdown.
func Setup(ctx context.Context, cfg Config, out io.Writer) (*telemetry.Telemetry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return telemetry.Setup(ctx, telemetry.Config{ServiceName: "samnav-" + cfg.Service, LogLevel: cfg.LogLevel,
		LogFormat: cfg.LogFormat, LogOutput: out, OTLPEndpoint: cfg.OTLPEndpoint})
}

// Run is a daemon's life around run: Setup, run with the telemetry, and a
// flush of the telemetry once run has returned (within 5 s).
func Run(ctx context.Context, cfg Config, out io.Writer, run func(context.Context, *telemetry.Telemetry) error) (err error) {
	tel, err := Setup(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ferr := tel.Shutdown(sctx); ferr != nil {
			err = errors.Join(err, fmt.Errorf("flush telemetry: %w", ferr))
		}
	}()
	return run(ctx, tel)
}

// Program is what Serve runs: HTTP servers, background workers, and the
// stores to close after both have stopped.
type Program struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Telemetry, when set, supplies the meter of the HTTP metrics and the
	// /metrics handler.
	Telemetry *telemetry.Telemetry
	// MeterProvider replaces Telemetry's for the HTTP metrics.
	MeterProvider metric.MeterProvider
	// HTTP are the servers' limits (zero fields defaulted).
	HTTP HTTP
	// Grace bounds the drain of requests in flight; 0 means
	// DefaultShutdownGrace.
	Grace   time.Duration
	Servers []Server
	Workers []Worker
	// Close closes the program's stores; it runs once every server and
	// worker has stopped, also when the start failed.
	Close func() error
}

// Server is one HTTP server of a Program.
type Server struct {
	// Name names the server in logs and errors ("api").
	Name string
	// Listener is the bound socket; nil means Serve binds Addr.
	Listener net.Listener
	Addr     string
	// Handler is the API; Serve puts Instrument in front of it.
	Handler http.Handler
	// Checks are what its /healthz checks.
	Checks []Check
}

// Worker is a background loop of a Program.
type Worker struct {
	Name string
	// Run works until ctx ends, then returns nil. An error ends the
	// program (its servers drain and the other workers stop).
	Run func(ctx context.Context) error
}

// Logger returns l, or a logger that discards everything when l is nil:
// the default of every optional Logger of a program.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// drainKey is the context key of the channel closed when a drain starts.
type drainKey struct{}

// Draining returns a channel closed when the server serving the request
// of ctx begins to drain, or nil outside Serve. A long poll selects on it
// and answers at once with what it has, so that the drain is not held up
// for the poll's whole wait.
func Draining(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(drainKey{}).(chan struct{})
	return ch
}

// Serve runs p until ctx ends or a server or worker fails, then drains:
// every server stops accepting and finishes the requests in flight (long
// polls are told through Draining) within p.Grace, then the workers'
// context ends and Serve waits for them, then p.Close runs. It returns
// the first failure, with any error from draining and closing joined.
func Serve(ctx context.Context, p Program) (err error) {
	logger := Logger(p.Logger)
	defer func() {
		if p.Close != nil {
			if cerr := p.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close: %w", cerr))
			}
		}
	}()
	mp, metrics := p.MeterProvider, http.Handler(nil)
	if p.Telemetry != nil {
		if mp == nil {
			mp = p.Telemetry.MeterProvider
		}
		metrics = p.Telemetry.MetricsHandler()
	}
	drain := make(chan struct{})
	type bound struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}
	servers := make([]bound, 0, len(p.Servers))
	for _, s := range p.Servers {
		ln := s.Listener
		if ln == nil {
			var lc net.ListenConfig
			if ln, err = lc.Listen(ctx, "tcp", s.Addr); err != nil {
				for _, b := range servers {
					_ = b.ln.Close()
				}
				return fmt.Errorf("%s: listen on %s: %w", s.Name, s.Addr, err)
			}
		}
		h := Instrument(s.Handler, p.HTTP, mp, Endpoints{Metrics: metrics, Checks: s.Checks, Logger: logger})
		srv := NewServer(h, p.HTTP, logger)
		srv.BaseContext = func(net.Listener) context.Context {
			return context.WithValue(context.WithoutCancel(ctx), drainKey{}, drain)
		}
		servers = append(servers, bound{s.Name, srv, ln})
		logger.Info("listening", "server", s.Name, "addr", ln.Addr().String())
	}

	// Workers outlive ctx until the servers have drained: a request in
	// flight may still need them.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	g, gctx := errgroup.WithContext(ctx)
	for _, b := range servers {
		g.Go(func() error {
			if err := b.srv.Serve(b.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s: serve: %w", b.name, err)
			}
			return nil
		})
	}
	for _, w := range p.Workers {
		g.Go(func() error {
			if err := w.Run(workCtx); err != nil && workCtx.Err() == nil {
				return fmt.Errorf("%s: %w", w.Name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		logger.Info("draining", "grace", p.graceOrDefault().String())
		close(drain)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.graceOrDefault())
		defer cancel()
		var errs []error
		for _, b := range servers {
			if err := b.srv.Shutdown(sctx); err != nil {
				_ = b.srv.Close()
				errs = append(errs, fmt.Errorf("%s: requests still in flight after the %s grace period were cut off: %w", b.name, p.graceOrDefault(), err))
			}
		}
		stopWork()
		return errors.Join(errs...)
	})
	err = g.Wait()
	logger.Info("stopped")
	return err
}

func (p Program) graceOrDefault() time.Duration {
	if p.Grace <= 0 {
		return DefaultShutdownGrace
	}
	return p.Grace
}
