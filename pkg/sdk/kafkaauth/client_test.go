package kafkaauth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/sdk/configtest"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

func TestLoadSettingsAndValidateNameEveryVariable(t *testing.T) {
	env := map[string]string{
		"SAMNAV_KAFKA_BROKERS":        "a:9092, nohost ,",
		"SAMNAV_KAFKA_SASL_MECHANISM": "plain",
		"SAMNAV_KAFKA_SASL_USERNAME":  "hub",
		"SAMNAV_KAFKA_TLS_CA_FILE":    "/nonexistent/ca.pem",
		"SAMNAV_KAFKA_CLIENT_ID":      "hub\n",
		"SAMNAV_KAFKA_READ_TIMEOUT":   "-1s",
	}
	s, err := kafkaauth.LoadSettings(func(k string) string { return env[k] }, "SAMNAV_")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(s.Brokers) != 2 || s.SASL.Mechanism != "PLAIN" {
		t.Fatalf("loaded %+v", s)
	}
	configtest.Names(t, s.Validate(),
		`SAMNAV_KAFKA_BROKERS[1] "nohost": must be host:port`,
		"SAMNAV_KAFKA_SASL_*: password: required",
		"SAMNAV_KAFKA_TLS_CA_FILE: set only with SAMNAV_KAFKA_TLS=true",
		"SAMNAV_KAFKA_TLS_CA_FILE: open /nonexistent/ca.pem",
		"SAMNAV_KAFKA_SASL_MECHANISM: PLAIN sends the password itself and needs SAMNAV_KAFKA_TLS=true",
		"SAMNAV_KAFKA_READ_TIMEOUT -1s: must not be negative",
		`SAMNAV_KAFKA_CLIENT_ID "hub\n": must be printable ASCII`,
	)
	if err := (kafkaauth.Settings{}).Validate(); err == nil || !strings.Contains(err.Error(), "brokers: at least one") {
		t.Errorf("empty settings: %v (want the field named when not loaded from the environment)", err)
	}
}

func TestLoadSettingsRejectsUnreadableValues(t *testing.T) {
	env := map[string]string{"X_KAFKA_TLS": "yes please", "X_KAFKA_DIAL_TIMEOUT": "10", "X_KAFKA_WRITE_TIMEOUT": "soon"}
	_, err := kafkaauth.LoadSettings(func(k string) string { return env[k] }, "X_")
	configtest.Names(t, err, `X_KAFKA_TLS "yes please": must be true or false`, `X_KAFKA_DIAL_TIMEOUT "10": must be a duration`, `X_KAFKA_WRITE_TIMEOUT "soon"`)
}

func TestSettingsBuildEveryClientTheSameWay(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := kafkaauth.Settings{Brokers: []string{"a:1"}, Connection: kafkaauth.Connection{TLS: true, TLSCAFile: ca}}
	if _, err := bad.Transport("x"); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}

	s := kafkaauth.Settings{Brokers: []string{"a:1", "b:2"}, SASL: kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "hub", Password: "pw"},
		Connection: kafkaauth.Connection{TLS: true, ClientID: "hub", DialTimeout: 3 * time.Second, ReadTimeout: 4 * time.Second, WriteTimeout: 6 * time.Second}}
	d, err := s.Dialer("delivery")
	if err != nil {
		t.Fatal(err)
	}
	if d.ClientID != "hub-delivery" || d.Timeout != 3*time.Second || d.SASLMechanism == nil || d.TLS == nil {
		t.Errorf("dialer %+v", d)
	}
	c, done, err := s.Client("admin")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	tr := c.Transport.(*kafka.Transport)
	if c.Timeout != 4*time.Second || tr.ClientID != "hub-admin" || tr.DialTimeout != 3*time.Second || tr.SASL == nil || tr.TLS == nil || c.Addr.String() != "a:1,b:2" {
		t.Errorf("client %+v transport %+v", c, tr)
	}
	w, err := s.Writer("outbox", kafkaauth.WriterOptions{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if w.RequiredAcks != kafka.RequireAll || w.BatchTimeout != kafkaauth.DefaultBatchTimeout || w.WriteTimeout != 6*time.Second ||
		w.ReadTimeout != 4*time.Second || w.MaxAttempts != 1 {
		t.Errorf("writer acks %v batch timeout %v timeouts %v/%v attempts %d", w.RequiredAcks, w.BatchTimeout, w.ReadTimeout, w.WriteTimeout, w.MaxAttempts)
	}
	if _, ok := w.Balancer.(*kafka.Murmur2Balancer); !ok {
		t.Errorf("balancer %T, want murmur2", w.Balancer)
	}
	// Defaults: no timeout left at zero, and no client id without a name.
	d, _ = kafkaauth.Settings{Brokers: []string{"a:1"}}.Dialer("x")
	w, _ = kafkaauth.Settings{Brokers: []string{"a:1"}}.Writer("x", kafkaauth.WriterOptions{})
	if d.ClientID != "samnav-x" || d.Timeout != kafkaauth.DefaultDialTimeout || d.TLS != nil || w.WriteTimeout != kafkaauth.DefaultWriteTimeout {
		t.Errorf("defaults: dialer %+v writer timeout %v", d, w.WriteTimeout)
	}
}

// TestBuildersRefuseInvalidSettings: no client is built from settings that
// fail Validate, so a wrong value is reported when a service starts, not
// as a connection that hangs or talks in plain text.
func TestBuildersRefuseInvalidSettings(t *testing.T) {
	plain := kafkaauth.Settings{Brokers: []string{"a:1"}, SASL: kafkaauth.Config{Mechanism: kafkaauth.Plain, Username: "u", Password: "p"}}
	negative := kafkaauth.Settings{Brokers: []string{"a:1"}, Connection: kafkaauth.Connection{DialTimeout: -time.Second}}
	for name, build := range map[string]func(kafkaauth.Settings) error{
		"dialer":    func(s kafkaauth.Settings) error { _, err := s.Dialer("x"); return err },
		"transport": func(s kafkaauth.Settings) error { _, err := s.Transport("x"); return err },
		"client":    func(s kafkaauth.Settings) error { _, _, err := s.Client("x"); return err },
		"writer":    func(s kafkaauth.Settings) error { _, err := s.Writer("x", kafkaauth.WriterOptions{}); return err },
	} {
		if err := build(plain); err == nil || !strings.Contains(err.Error(), "PLAIN sends the password itself") {
			t.Errorf("%s with PLAIN over plain text: %v", name, err)
		}
		if err := build(negative); err == nil || !strings.Contains(err.Error(), "dial timeout -1s: must not be negative") {
			t.Errorf("%s with a negative timeout: %v", name, err)
		}
	}
	if _, _, err := (kafkaauth.Settings{}).Client("x"); err == nil || !strings.Contains(err.Error(), "brokers: at least one") {
		t.Errorf("client without brokers: %v", err)
	}
}

func TestWriterAcksAndTransportForDialer(t *testing.T) {
	s := kafkaauth.Settings{Brokers: []string{"a:1"}}
	for acks, want := range map[kafkaauth.Acks]kafka.RequiredAcks{kafkaauth.AcksAll: kafka.RequireAll, kafkaauth.AcksLeader: kafka.RequireOne, kafkaauth.AcksNone: kafka.RequireNone} {
		w, err := s.Writer("x", kafkaauth.WriterOptions{Acks: acks, Compression: kafka.Zstd})
		if err != nil {
			t.Fatal(err)
		}
		if w.RequiredAcks != want || w.Compression != kafka.Zstd {
			t.Errorf("acks %d: writer acks %v compression %v", acks, w.RequiredAcks, w.Compression)
		}
	}
	d, err := kafkaauth.Settings{SASL: kafkaauth.Config{Mechanism: kafkaauth.ScramSHA256, Username: "u", Password: "p"},
		Connection: kafkaauth.Connection{TLS: true, ClientID: "sys", DialTimeout: 2 * time.Second}}.Dialer("consumer")
	if err != nil {
		t.Fatal(err)
	}
	tr := kafkaauth.TransportFor(d)
	if tr.ClientID != "sys-consumer" || tr.DialTimeout != 2*time.Second || tr.SASL != d.SASLMechanism || tr.TLS != d.TLS {
		t.Errorf("transport %+v for dialer %+v", tr, d)
	}
	if def := kafkaauth.TransportFor(nil); def.ClientID != kafkaauth.DefaultClientID || def.DialTimeout != kafkaauth.DefaultDialTimeout || def.SASL != nil || def.TLS != nil {
		t.Errorf("default transport %+v", def)
	}
}
