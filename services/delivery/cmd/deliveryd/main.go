// Command deliveryd runs Samnav's delivery service alone (subscriptions, the Kafka, webhook and feed channels), configured only by environment variables (see
// delivery.LoadConfig and docs/configuration.md). It serves /livez, /healthz
// and /metrics beside its API, and on SIGTERM or SIGINT stops accepting,
// finishes the requests in flight within SAMNAV_SHUTDOWN_GRACE, stops its
// workers, closes its stores and exits 0.
package main

import (
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/services/delivery"
)

func main() { daemon.Main("deliveryd", delivery.LoadConfig, delivery.RunAlone) }
