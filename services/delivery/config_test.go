package delivery_test

import (
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/services/delivery"
)

func TestConfigValidate(t *testing.T) {
	configtest.Run(t, []configtest.Case[delivery.Config]{
		configtest.Valid("valid sqlite", delivery.Config{Base: daemon.Base{DataDir: "/tmp/x"}, Brokers: []string{"127.0.0.1:9092"}}),
		configtest.Invalid("everything wrong at once", delivery.Config{Base: daemon.Base{Driver: "mysql", Addr: "nope"}, Brokers: []string{"k"}, SyncInterval: -1},
			"Driver:", "Addr:", "Brokers[0]:", "SyncInterval:"),
		configtest.Invalid("short feed cursor key", delivery.Config{Base: daemon.Base{DataDir: "/tmp/x"}, Brokers: []string{"k:1"}, FeedCursorKey: []byte("short")}, "FeedCursorKey: must be at least 32"),
		configtest.Invalid("brokers required", delivery.Config{Base: daemon.Base{DataDir: "/tmp/x"}}, "Brokers: at least one"),
		configtest.Valid("view compaction bounds", delivery.Config{Base: daemon.Base{DataDir: "/tmp/x"}, Brokers: []string{"k:1"},
			ViewCompactionLag: 15 * time.Minute, ViewDeleteRetention: 24 * time.Hour}),
		configtest.Invalid("view compaction bounds out of range", delivery.Config{Base: daemon.Base{DataDir: "/tmp/x"}, Brokers: []string{"k:1"},
			ViewCompactionLag: time.Second, ViewDeleteRetention: -time.Hour}, "ViewCompactionLag: must be 0 (default 1h0m0s) or at least 1m0s", "ViewDeleteRetention: must not be negative"),
	}, configtest.Validate)
}

// TestLoadConfigNamesEveryBadVariable: LoadConfig reads the service's own
// variables and the ones every daemon shares, and reports every value it
// cannot read at once, each by its variable.
func TestLoadConfigNamesEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"SAMNAV_DELIVERY_ADDR": "8083", delivery.EnvWebhookAllowPrivate: "yes", "SAMNAV_LOG_LEVEL": "loud",
		"SAMNAV_SHUTDOWN_GRACE": "soon", "SAMNAV_HTTP_MAX_IN_FLIGHT": "0", delivery.EnvViewCompactionLag: "an hour",
	}
	_, err := delivery.LoadConfig(func(k string) string { return env[k] })
	configtest.Names(t, err, "SAMNAV_DELIVERY_ADDR", delivery.EnvWebhookAllowPrivate, "SAMNAV_LOG_LEVEL", "SAMNAV_SHUTDOWN_GRACE", "SAMNAV_HTTP_MAX_IN_FLIGHT",
		delivery.EnvViewCompactionLag)
	env["SAMNAV_OIDC_GRANTS"], env["SAMNAV_OIDC_JWKS_MAX_AGE"] = "stewards", "a while"
	_, err = delivery.LoadConfig(func(k string) string { return env[k] })
	configtest.Names(t, err, "SAMNAV_OIDC_GRANTS: must be a JSON object", "SAMNAV_OIDC_JWKS_MAX_AGE: must be a duration")
	env = map[string]string{"SAMNAV_KAFKA_BROKERS": "k:9092", "SAMNAV_DELIVERY_DATA_DIR": "/tmp/x", "SAMNAV_SHUTDOWN_GRACE": "7s", "SAMNAV_HTTP_WRITE_TIMEOUT": "2m"}
	cfg, err := delivery.LoadConfig(func(k string) string { return env[k] })
	if err != nil || cfg.Validate() != nil {
		t.Fatalf("LoadConfig = %v, Validate = %v", err, cfg.Validate())
	}
	if cfg.OIDC.Enabled() {
		t.Errorf("bearer access tokens are on without SAMNAV_OIDC_ISSUER: %+v", cfg.OIDC)
	}
	env["SAMNAV_OIDC_ISSUER"], env["SAMNAV_OIDC_ALGORITHMS"] = "https://login.example.org", "HS256"
	cfg, _ = delivery.LoadConfig(func(k string) string { return env[k] })
	configtest.Names(t, cfg.Validate(), "SAMNAV_OIDC_AUDIENCE: must be set", `SAMNAV_OIDC_ALGORITHMS: "HS256" is not allowed`, "SAMNAV_OIDC_GRANTS: must map")
	if cfg.Addr != delivery.DefaultAddr || cfg.Daemon.Grace().String() != "7s" || cfg.Daemon.HTTP.WriteTimeout.String() != "2m0s" {
		t.Errorf("config %+v", cfg)
	}
}

// TestValidateNamesVariables: each problem Validate reports names the
// variable LoadConfig reads the field from.
func TestValidateNamesVariables(t *testing.T) {
	err := delivery.Config{Base: daemon.Base{Driver: "mysql", Addr: "nope"}, Brokers: []string{"k"}, ViewCompactionLag: time.Second}.Validate()
	configtest.Names(t, err, "SAMNAV_DELIVERY_DRIVER", "SAMNAV_DELIVERY_ADDR", "SAMNAV_KAFKA_BROKERS", delivery.EnvViewCompactionLag)
}
