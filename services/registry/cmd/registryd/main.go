// Command registryd runs Samnav's schema registry alone, configured from
// the environment (see registry.LoadConfig): SAMNAV_REGISTRY_ADDR,
// SAMNAV_REGISTRY_DATABASE (a database URL, see pkg/sqldb; or its older
// form SAMNAV_REGISTRY_DRIVER (sqlite|postgres) with SAMNAV_REGISTRY_DSN),
// SAMNAV_REGISTRY_DATA_DIR, SAMNAV_REGISTRY_DEFAULT_COMPATIBILITY,
// SAMNAV_REGISTRY_TOKENS, SAMNAV_REGISTRY_BASIC_AUTH,
// SAMNAV_REGISTRY_OPEN_WRITES.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/samnav/samnav/services/registry"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("registryd failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := registry.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return registry.Run(ctx, cfg, registry.Deps{Logger: log})
}
