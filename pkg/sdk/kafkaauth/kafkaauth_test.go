package kafkaauth_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

func TestValidateNamesFieldAndRule(t *testing.T) {
	for _, tc := range []struct {
		cfg  kafkaauth.Config
		want string // "" means valid
	}{
		{kafkaauth.Config{}, ""},
		{kafkaauth.Config{Mechanism: "SCRAM-SHA-512", Username: "hub", Password: "p"}, ""},
		{kafkaauth.Config{Mechanism: "PLAIN", Username: "hub", Password: "p"}, ""},
		{kafkaauth.Config{Username: "hub"}, "mechanism: required when a username or password is set"},
		{kafkaauth.Config{Mechanism: "GSSAPI", Username: "hub", Password: "p"}, `mechanism: "GSSAPI" is not SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN`},
		{kafkaauth.Config{Mechanism: "SCRAM-SHA-256", Password: "p"}, "username: required with a SASL mechanism"},
		{kafkaauth.Config{Mechanism: "SCRAM-SHA-256", Username: "a,b", Password: "p"}, `username "a,b": must not contain`},
		{kafkaauth.Config{Mechanism: "SCRAM-SHA-256", Username: "hub"}, "password: required with a SASL mechanism"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: err = %v, want it to contain %q", tc.cfg, err, tc.want)
		}
	}
}

func TestLoadConfigAndClients(t *testing.T) {
	env := map[string]string{"SAMNAV_KAFKA_SASL_MECHANISM": "scram-sha-512", "SAMNAV_KAFKA_SASL_USERNAME": "hub", "SAMNAV_KAFKA_SASL_PASSWORD": "pw"}
	cfg := kafkaauth.LoadConfig(func(k string) string { return env[k] }, "SAMNAV_")
	if cfg != (kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "hub", Password: "pw"}) {
		t.Fatalf("LoadConfig = %+v", cfg)
	}
	d, err := cfg.Dialer("x")
	if err != nil || d.SASLMechanism == nil || d.SASLMechanism.Name() != "SCRAM-SHA-512" {
		t.Fatalf("Dialer: %+v, %v", d, err)
	}
	tr, err := cfg.Transport("x")
	if err != nil || tr.SASL == nil || tr.SASL.Name() != "SCRAM-SHA-512" {
		t.Fatalf("Transport: %+v, %v", tr, err)
	}
	none, err := kafkaauth.Config{}.Transport("x")
	if err != nil || none.SASL != nil {
		t.Fatalf("Transport without SASL: %+v, %v", none, err)
	}
	if _, err := (kafkaauth.Config{Mechanism: "X", Username: "u", Password: "p"}).Dialer("x"); err == nil {
		t.Fatal("Dialer accepted an unknown mechanism")
	}
	p1, _ := kafkaauth.GeneratePassword()
	p2, _ := kafkaauth.GeneratePassword()
	if len(p1) != 32 || p1 == p2 {
		t.Fatalf("GeneratePassword: %q, %q", p1, p2)
	}
}
