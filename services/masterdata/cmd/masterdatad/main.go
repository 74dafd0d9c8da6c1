// Command masterdatad runs the master data service alone, configured from
// the environment (see masterdata.LoadConfig).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/samnav/samnav/services/masterdata"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("masterdatad", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := masterdata.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	return masterdata.Run(ctx, cfg, masterdata.Deps{Logger: logger})
}
