package delivery_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/services/delivery"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  delivery.Config
		want []string // every problem named
	}{
		{"valid sqlite", delivery.Config{DataDir: "/tmp/x", Brokers: []string{"127.0.0.1:9092"}}, nil},
		{"valid postgres", delivery.Config{Driver: "postgres", DSN: "postgres://x", Brokers: []string{"k:9092"}}, nil},
		{"everything wrong at once", delivery.Config{Driver: "mysql", Addr: "nope", Brokers: []string{"k"}, SyncInterval: -1},
			[]string{"Driver:", "Addr:", "Brokers[0]:", "SyncInterval:"}},
		{"sqlite needs a place", delivery.Config{Brokers: []string{"k:1"}}, []string{"DSN or DataDir"}},
		{"postgres needs a DSN", delivery.Config{Driver: "postgres", Brokers: []string{"k:1"}}, []string{"DSN: required"}},
		{"database URL", delivery.Config{Database: "postgres://u:secret@db/x", Brokers: []string{"k:1"}}, nil},
		{"database URL and DSN", delivery.Config{Database: "sqlite:a.db", DSN: "b.db", Brokers: []string{"k:1"}}, []string{"Database and DSN: set one"}},
		{"bad database URL", delivery.Config{Database: "mysql://u:secret@db/x", Brokers: []string{"k:1"}}, []string{"Database: database URL mysql://u:xxxxx@db/x: must start with"}},
		{"short feed cursor key", delivery.Config{DataDir: "/tmp/x", Brokers: []string{"k:1"}, FeedCursorKey: []byte("short")}, []string{"FeedCursorKey: must be at least 32"}},
		{"brokers required", delivery.Config{DataDir: "/tmp/x"}, []string{"Brokers: at least one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %q", err, w)
				}
			}
		})
	}
}

// TestLoadConfigNamesEveryBadVariable: LoadConfig reads the service's own
// variables and the ones every daemon shares, and reports every value it
// cannot read at once, each by its variable.
func TestLoadConfigNamesEveryBadVariable(t *testing.T) {
	env := map[string]string{
		delivery.EnvAddr: "8083", delivery.EnvWebhookAllowPrivate: "yes", "SAMNAV_LOG_LEVEL": "loud",
		"SAMNAV_SHUTDOWN_GRACE": "soon", "SAMNAV_HTTP_MAX_IN_FLIGHT": "0",
	}
	_, err := delivery.LoadConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("LoadConfig accepted them")
	}
	for _, v := range []string{delivery.EnvAddr, delivery.EnvWebhookAllowPrivate, "SAMNAV_LOG_LEVEL", "SAMNAV_SHUTDOWN_GRACE", "SAMNAV_HTTP_MAX_IN_FLIGHT"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("%q does not name %s", err, v)
		}
	}
	env = map[string]string{"SAMNAV_KAFKA_BROKERS": "k:9092", delivery.EnvDataDir: "/tmp/x", "SAMNAV_SHUTDOWN_GRACE": "7s", "SAMNAV_HTTP_WRITE_TIMEOUT": "2m"}
	cfg, err := delivery.LoadConfig(func(k string) string { return env[k] })
	if err != nil || cfg.Validate() != nil {
		t.Fatalf("LoadConfig = %v, Validate = %v", err, cfg.Validate())
	}
	if cfg.Addr != delivery.DefaultAddr || cfg.Daemon.Grace().String() != "7s" || cfg.Daemon.HTTP.WriteTimeout.String() != "2m0s" {
		t.Errorf("config %+v", cfg)
	}
}

// TestValidateNamesVariables: each problem Validate reports names the
// variable LoadConfig reads the field from.
func TestValidateNamesVariables(t *testing.T) {
	err := delivery.Config{Driver: "mysql", Addr: "nope", Brokers: []string{"k"}}.Validate()
	for _, v := range []string{delivery.EnvDriver, delivery.EnvAddr, delivery.EnvBrokers} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("%v does not name %s", err, v)
		}
	}
}
