// Command deliveryd runs Samnav's delivery service alone (subscriptions, the Kafka, webhook and feed channels), configured only by environment variables (see
// delivery.LoadConfig and docs/configuration.md). It serves /livez, /healthz
// and /metrics beside its API, and on SIGTERM or SIGINT stops accepting,
// finishes the requests in flight within SAMNAV_SHUTDOWN_GRACE, stops its
// workers, closes its stores and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/delivery"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stderr)
	stop()
	if err != nil {
		slog.Error("deliveryd", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := delivery.LoadConfig(getenv)
	if err = errors.Join(err, cfg.Validate()); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return daemon.Run(ctx, cfg.Daemon, stderr, func(ctx context.Context, tel *telemetry.Telemetry) error {
		return delivery.Run(ctx, cfg, delivery.Deps{Logger: tel.Logger, Telemetry: tel})
	})
}
