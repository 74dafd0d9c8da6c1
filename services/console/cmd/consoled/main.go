// Command consoled serves Samnav's web console alone; it calls the other services' APIs, configured only by environment variables (see
// console.LoadConfig and docs/configuration.md). It serves /livez, /healthz
// and /metrics beside its API, and on SIGTERM or SIGINT stops accepting,
// finishes the requests in flight within SAMNAV_SHUTDOWN_GRACE, stops its
// workers, closes its stores and exits 0.
package main

import (
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/services/console"
)

func main() { daemon.Main("consoled", console.LoadConfig, console.RunAlone) }
