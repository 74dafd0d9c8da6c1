package masterdata_test

import (
	"testing"
	"time"

	"github.com/samnav/samnav/pkg/daemon"
	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/services/masterdata"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	configtest.Run(t, []configtest.Case[masterdata.Config]{
		configtest.Valid("sqlite with a data dir, no brokers", masterdata.Config{Base: daemon.Base{DataDir: "/tmp/x"}}),
		configtest.Invalid("everything wrong", masterdata.Config{Base: daemon.Base{Driver: "mysql", Addr: "nope"}, Brokers: []string{"b"}, TopicPartitions: -1},
			"Driver:", "Addr:", "Brokers[0]:", "TopicPartitions:"),
		configtest.Invalid("sqlite without a place", masterdata.Config{}, "DSN or DataDir", "SAMNAV_MASTERDATA_DATA_DIR"),
	}, configtest.Validate)
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
	configtest.Names(t, err, masterdata.EnvRelayStallAfter, "duration")
	cfg, _ = masterdata.LoadConfig(env("-1s"))
	configtest.Names(t, cfg.Validate(), "RelayStallAfter")
}

// TestLoadConfigDatabase: SAMNAV_MASTERDATA_DATABASE is the database URL;
// the older DRIVER and DSN are still read.
func TestLoadConfigDatabase(t *testing.T) {
	env := map[string]string{"SAMNAV_MASTERDATA_DATABASE": "postgres://db/x", "SAMNAV_MASTERDATA_DRIVER": "postgres", "SAMNAV_MASTERDATA_DSN": "postgres://old/x"}
	cfg, err := masterdata.LoadConfig(func(k string) string { return env[k] })
	if err != nil || cfg.Database != "postgres://db/x" || cfg.Driver != "postgres" || cfg.DSN != "postgres://old/x" {
		t.Fatalf("LoadConfig = %+v, %v", cfg, err)
	}
}

// TestLoadConfigOIDC: bearer access tokens are off unless
// SAMNAV_OIDC_ISSUER is set; set, the other SAMNAV_OIDC_* settings are
// read and checked, each problem naming its variable.
func TestLoadConfigOIDC(t *testing.T) {
	env := map[string]string{"SAMNAV_MASTERDATA_DATA_DIR": "/tmp/x"}
	get := func(k string) string { return env[k] }
	cfg, err := masterdata.LoadConfig(get)
	if err != nil || cfg.OIDC.Enabled() || cfg.Validate() != nil {
		t.Fatalf("unset: %+v, %v, %v; want off and valid", cfg.OIDC, err, cfg.Validate())
	}
	env["SAMNAV_OIDC_ISSUER"] = "https://login.example.org"
	env["SAMNAV_OIDC_GRANTS"] = `{"stewards":[{"role":"steward"}]}`
	cfg, err = masterdata.LoadConfig(get)
	if err != nil || !cfg.OIDC.Enabled() {
		t.Fatalf("set: %+v, %v", cfg.OIDC, err)
	}
	configtest.Names(t, cfg.Validate(), "SAMNAV_OIDC_AUDIENCE: must be set", `SAMNAV_OIDC_GRANTS["stewards"][0]: concepts`)
}
