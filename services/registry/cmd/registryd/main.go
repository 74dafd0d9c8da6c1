// Command registryd runs Samnav's schema registry (Confluent REST API)
// alone, configured only by environment variables (see
// registry.LoadConfig and docs/configuration.md): SAMNAV_REGISTRY_ADDR,
// SAMNAV_REGISTRY_DATABASE (a database URL, see pkg/sdk/sqldb; or its older
// form SAMNAV_REGISTRY_DRIVER with SAMNAV_REGISTRY_DSN),
// SAMNAV_REGISTRY_DATA_DIR, SAMNAV_REGISTRY_DEFAULT_COMPATIBILITY,
// SAMNAV_REGISTRY_TOKENS, SAMNAV_REGISTRY_BASIC_AUTH,
// SAMNAV_REGISTRY_OPEN_WRITES. It serves /livez, /healthz and /metrics
// beside its API, and on SIGTERM or SIGINT stops accepting, finishes the
// requests in flight within SAMNAV_SHUTDOWN_GRACE, closes its store and
// exits 0.
package main

import (
	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/services/registry"
)

func main() { daemon.Main("registryd", registry.LoadConfig, registry.RunAlone) }
