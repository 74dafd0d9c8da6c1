// Command deliveryd runs the Samnav delivery service, configured from the
// environment (see delivery.LoadConfig).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/samnav/samnav/services/delivery"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("deliveryd", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return delivery.Run(ctx, delivery.LoadConfig(os.Getenv), delivery.Deps{Logger: logger})
}
