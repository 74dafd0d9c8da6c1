package masterdata_test

import (
	"strings"
	"testing"
	"time"

	"github.com/samnav/samnav/services/masterdata"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		cfg  masterdata.Config
		want []string
	}{
		{"sqlite with a data dir", masterdata.Config{DataDir: "/tmp/x"}, nil},
		{"postgres", masterdata.Config{Driver: "postgres", DSN: "postgres://x"}, nil},
		{"everything wrong", masterdata.Config{Driver: "mysql", Addr: "nope", Brokers: []string{"b"}, TopicPartitions: -1},
			[]string{"Driver:", "Addr:", "Brokers[0]:", "TopicPartitions:"}},
		{"sqlite without a place", masterdata.Config{}, []string{"DSN or DataDir"}},
		{"postgres without DSN", masterdata.Config{Driver: "postgres"}, []string{"DSN: required"}},
		{"database URL", masterdata.Config{Database: "postgres://u:secret@db/x"}, nil},
		{"database URL and DSN", masterdata.Config{Database: "sqlite:a.db", DSN: "b.db"}, []string{"Database and DSN: set one"}},
		{"bad database URL", masterdata.Config{Database: "mysql://u:secret@db/x"}, []string{"Database: database URL mysql://u:xxxxx@db/x: must start with"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not report %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("%q shows the password", err)
			}
		})
	}
}

// TestLoadConfigRelayStallAfter: the relay's stall threshold comes from
// SAMNAV_MASTERDATA_RELAY_STALL_AFTER; a value that is not a duration is an
// error naming the variable.
func TestLoadConfigRelayStallAfter(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == masterdata.EnvRelayStallAfter {
				return v
			}
			return ""
		}
	}
	cfg, err := masterdata.LoadConfig(env("90s"))
	if err != nil || cfg.RelayStallAfter != 90*time.Second {
		t.Fatalf("90s: got %v, %v", cfg.RelayStallAfter, err)
	}
	if cfg, err := masterdata.LoadConfig(env("")); err != nil || cfg.RelayStallAfter != 0 {
		t.Fatalf("unset: got %v, %v (want 0, the default)", cfg.RelayStallAfter, err)
	}
	_, err = masterdata.LoadConfig(env("a minute"))
	if err == nil || !strings.Contains(err.Error(), masterdata.EnvRelayStallAfter) || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("a minute: got %v, want an error naming %s and the rule", err, masterdata.EnvRelayStallAfter)
	}
	cfg, _ = masterdata.LoadConfig(env("-1s"))
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "RelayStallAfter") {
		t.Fatalf("-1s: Validate gave %v, want RelayStallAfter refused", err)
	}
}

// TestLoadConfigDatabase: SAMNAV_MASTERDATA_DATABASE is the database URL;
// the older DRIVER and DSN are still read.
func TestLoadConfigDatabase(t *testing.T) {
	env := map[string]string{masterdata.EnvDatabase: "postgres://db/x", masterdata.EnvDriver: "postgres", masterdata.EnvDSN: "postgres://old/x"}
	cfg, err := masterdata.LoadConfig(func(k string) string { return env[k] })
	if err != nil || cfg.Database != "postgres://db/x" || cfg.Driver != "postgres" || cfg.DSN != "postgres://old/x" {
		t.Fatalf("LoadConfig = %+v, %v", cfg, err)
	}
}
