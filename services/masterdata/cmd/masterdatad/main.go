// Command masterdatad runs Samnav's master data service alone (records, history, the outbox relay), configured only by environment variables (see
// masterdata.LoadConfig and docs/configuration.md). It serves /livez, /healthz
// and /metrics beside its API, and on SIGTERM or SIGINT stops accepting,
// finishes the requests in flight within SAMNAV_SHUTDOWN_GRACE, stops its
// workers, closes its stores and exits 0.
package main

import (
	"context"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/telemetry"
	"github.com/samnav/samnav/services/masterdata"
)

func main() {
	daemon.Main("masterdatad", masterdata.LoadConfig, func(ctx context.Context, cfg masterdata.Config, tel *telemetry.Telemetry) error {
		return masterdata.Run(ctx, cfg, masterdata.Deps{Logger: tel.Logger, Telemetry: tel})
	})
}
