// Command consoled serves Samnav's web console alone, configured from the
// environment (see console.LoadConfig). `samnav dev` serves it together
// with the rest of the hub.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/samnav/samnav/services/console"
)

func main() {
	if err := run(); err != nil {
		slog.Error("consoled", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := console.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	return console.Run(ctx, cfg)
}
