package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/samnav/samnav/pkg/auth"
)

// Lifecycle is the one lifecycle of a service's Server: Run serves it in
// the foreground until its context ends (cmd/*d), Start serves it in the
// background for a caller that controls it (`samnav dev`, tests), Addr
// reports the bound address (for ":0"), and Shutdown or Close drains it.
// A Server embeds the *Lifecycle NewLifecycle returns, so every service
// starts, stops and closes its stores the same way.
type Lifecycle struct {
	name    string
	program Program
	prepare func(context.Context) error

	closeOnce sync.Once
	closeErr  error

	// done is closed when the service started by Start has stopped
	// serving, with err why.
	done chan struct{}
	err  error

	mu        sync.Mutex
	listeners []net.Listener
	cancel    context.CancelFunc
	started   bool
	closed    bool
}

// NewLifecycle returns the lifecycle of the service name ("delivery") that
// p describes: its servers (each bound at its Addr by Start and Run unless
// it has a Listener), workers and the Close of its stores, which runs once
// however the service ends, also when it never started. prepare, when not
// nil, is what must succeed before the service serves (Start and Run run
// it first).
func NewLifecycle(name string, p Program, prepare func(context.Context) error) *Lifecycle {
	l := &Lifecycle{name: name, prepare: prepare, done: make(chan struct{})}
	closeStores := p.Close
	p.Close = func() error {
		l.closeOnce.Do(func() {
			if closeStores != nil {
				l.closeErr = closeStores()
			}
		})
		return l.closeErr
	}
	l.program = p
	return l
}

// Run prepares the service, after the steps given (see BootstrapAdmin),
// and serves it until ctx ends, then drains it (see Serve). When a step
// or the preparation fails, the stores are closed and Run returns why.
func (l *Lifecycle) Run(ctx context.Context, steps ...func(context.Context) error) error {
	if l.prepare != nil {
		steps = append(steps, l.prepare)
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return errors.Join(err, l.program.Close())
		}
	}
	return Serve(ctx, l.program)
}

// Start prepares the service, binds its servers' addresses and serves it
// in the background until Shutdown or Close. ctx bounds only the start.
func (l *Lifecycle) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("start %s: the server is closed", l.name)
	}
	if l.started {
		return fmt.Errorf("start %s: already started", l.name)
	}
	if l.prepare != nil {
		if err := l.prepare(ctx); err != nil {
			return err
		}
	}
	p := l.program
	p.Servers = append([]Server(nil), p.Servers...)
	var listeners []net.Listener
	for i, s := range p.Servers {
		if s.Listener == nil {
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", s.Addr)
			if err != nil {
				for _, ln := range listeners {
					_ = ln.Close()
				}
				return fmt.Errorf("start %s: listen on %s: %w", l.name, s.Addr, err)
			}
			p.Servers[i].Listener = ln
		}
		listeners = append(listeners, p.Servers[i].Listener)
	}
	// The servers outlive ctx (Shutdown stops them) but keep its values,
	// so that an observer (ObserveRequests) reaches their requests.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.listeners, l.cancel, l.started = listeners, cancel, true
	go func() {
		l.err = Serve(runCtx, p)
		close(l.done)
	}()
	return nil
}

// Addr returns the bound address of the service's first server
// ("127.0.0.1:34567"), or "" before Start.
func (l *Lifecycle) Addr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.listeners) == 0 {
		return ""
	}
	return l.listeners[0].Addr().String()
}

// Shutdown stops serving (the requests in flight get the shutdown grace),
// stops the workers and closes the stores, waiting until ctx ends at
// most. Calling it again is a no-op; without Start it only closes the
// stores.
func (l *Lifecycle) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	cancel := l.cancel
	l.mu.Unlock()
	if cancel == nil {
		return l.program.Close()
	}
	cancel()
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return fmt.Errorf("shut down %s: %w", l.name, ctx.Err())
	}
}

// Done is closed when the service Start started has stopped serving: after
// Shutdown, or when a server or worker failed (Shutdown then returns why).
func (l *Lifecycle) Done() <-chan struct{} { return l.done }

// Close is Shutdown with a short grace period.
func (l *Lifecycle) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.Shutdown(ctx)
}

// BootstrapAdmin is a step of Run for a service that keeps its own API
// tokens: on the first start of its database it issues an admin token and
// writes it to out once (like Jupyter's start-up token; only its hash is
// kept), so the operator can issue the others. With tokens nil (the
// service authenticates through another) it does nothing.
func BootstrapAdmin(tokens *auth.Tokens, service string, out io.Writer) func(context.Context) error {
	return func(ctx context.Context) error {
		if tokens == nil {
			return nil
		}
		secret, err := tokens.EnsureBootstrapAdmin(ctx)
		if err != nil {
			return fmt.Errorf("bootstrap admin token: %w", err)
		}
		if secret != "" {
			if _, err := fmt.Fprintf(out, "%s bootstrap admin token (shown once): %s\n", service, secret); err != nil {
				return fmt.Errorf("show bootstrap admin token: %w", err)
			}
		}
		return nil
	}
}
