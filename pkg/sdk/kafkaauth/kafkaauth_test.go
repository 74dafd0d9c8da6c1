package kafkaauth_test

import (
	"testing"

	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

func TestValidateNamesFieldAndRule(t *testing.T) {
	configtest.Run(t, []configtest.Case[kafkaauth.Config]{
		configtest.Valid("no SASL", kafkaauth.Config{}),
		configtest.Valid("SCRAM", kafkaauth.Config{Mechanism: "SCRAM-SHA-512", Username: "hub", Password: "p"}),
		configtest.Valid("PLAIN", kafkaauth.Config{Mechanism: "PLAIN", Username: "hub", Password: "p"}),
		configtest.Invalid("credentials without a mechanism", kafkaauth.Config{Username: "hub"}, "mechanism: required when a username or password is set"),
		configtest.Invalid("unknown mechanism", kafkaauth.Config{Mechanism: "GSSAPI", Username: "hub", Password: "p"}, `mechanism: "GSSAPI" is not SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN`),
		configtest.Invalid("no username", kafkaauth.Config{Mechanism: "SCRAM-SHA-256", Password: "p"}, "username: required with a SASL mechanism"),
		configtest.Invalid("comma in username", kafkaauth.Config{Mechanism: "SCRAM-SHA-256", Username: "a,b", Password: "p"}, `username "a,b": must not contain`),
		configtest.Invalid("no password", kafkaauth.Config{Mechanism: "SCRAM-SHA-256", Username: "hub"}, "password: required with a SASL mechanism"),
	}, configtest.Validate)
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
