package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/samnav/samnav/pkg/telemetry"
)

// ServiceConfig is the configuration of a service that runs alone: it
// checks the rules between its fields, and holds what every daemon shares.
type ServiceConfig interface {
	Validate() error
	DaemonConfig() Config
}

// Main is the whole main function of a cmd/*d binary named name: it runs
// the service (see RunService) on the process's environment until SIGTERM
// or SIGINT, and exits 1 with the error logged when it fails.
func Main[C ServiceConfig](name string, load func(getenv func(string) string) (C, error), run func(context.Context, C, *telemetry.Telemetry) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := RunService(ctx, os.Getenv, os.Stderr, load, run)
	stop()
	if err != nil {
		slog.Error(name, "err", err)
		os.Exit(1)
	}
}

// RunService loads a service's configuration through getenv (load, then
// its Validate: every problem at once, each naming its variable), sets up
// logging to stderr and telemetry from it, and runs the service with them
// until ctx ends (see Run).
func RunService[C ServiceConfig](ctx context.Context, getenv func(string) string, stderr io.Writer,
	load func(getenv func(string) string) (C, error), run func(context.Context, C, *telemetry.Telemetry) error) error {
	cfg, err := load(getenv)
	if err = errors.Join(err, cfg.Validate()); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return Run(ctx, cfg.DaemonConfig(), stderr, func(ctx context.Context, tel *telemetry.Telemetry) error {
		return run(ctx, cfg, tel)
	})
}
