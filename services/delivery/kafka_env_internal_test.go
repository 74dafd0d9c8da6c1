package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/samnav/samnav/pkg/embeddedkafka"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

// selfSigned returns a TLS configuration serving a certificate for
// 127.0.0.1, and the path of a PEM file holding that certificate (the CA
// a client must trust).
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "embedded kafka"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, ca
}

// TestKafkaSettingsFromTheEnvironmentReachTheClients: against a broker
// that speaks only TLS (with a certificate from a private CA) and requires
// SASL, the clients the service builds from a Config loaded from
// SAMNAV_KAFKA_* connect: the start-up check, the admin client, and the
// dialer of the pipeline's consumers. Without the TLS variables, or
// without the credentials, they do not.
func TestKafkaSettingsFromTheEnvironmentReachTheClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	serve, ca := selfSigned(t)
	hub := kafkaauth.Config{Mechanism: kafkaauth.ScramSHA512, Username: "samnav-hub", Password: "hub-secret"}
	broker, err := embeddedkafka.Start(ctx, embeddedkafka.Config{TLS: serve, Superuser: hub})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = broker.Close() }()
	full := map[string]string{
		"SAMNAV_DELIVERY_DATA_DIR": t.TempDir(), "SAMNAV_KAFKA_BROKERS": broker.Addr(),
		"SAMNAV_KAFKA_TLS": "true", "SAMNAV_KAFKA_TLS_CA_FILE": ca, "SAMNAV_KAFKA_CLIENT_ID": "delivery-test",
		"SAMNAV_KAFKA_DIAL_TIMEOUT": "3s", "SAMNAV_KAFKA_READ_TIMEOUT": "4s",
		"SAMNAV_KAFKA_SASL_MECHANISM": hub.Mechanism, "SAMNAV_KAFKA_SASL_USERNAME": hub.Username, "SAMNAV_KAFKA_SASL_PASSWORD": hub.Password,
	}
	load := func(t *testing.T, without ...string) Config {
		t.Helper()
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		for _, k := range without {
			delete(env, k)
		}
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("LoadConfig: %v", err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		return cfg
	}

	cfg := load(t)
	k := cfg.kafka()
	if k.DialTimeout != 3*time.Second || k.ReadTimeout != 4*time.Second || k.ClientID != "delivery-test" {
		t.Errorf("settings %+v: timeouts and client id not loaded", k.Connection)
	}
	if err := k.Check(ctx); err != nil {
		t.Fatalf("start-up check: %v", err)
	}
	client, done, err := k.Client("delivery-lag")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := client.Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
		t.Fatalf("admin client: %v", err)
	}
	dialer, err := k.Dialer("delivery")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialer.DialContext(ctx, "tcp", broker.Addr())
	if err != nil {
		t.Fatalf("consumer dialer: %v", err)
	}
	if _, err := conn.ApiVersions(); err != nil {
		t.Errorf("consumer connection: %v", err)
	}
	_ = conn.Close()

	short, cancelShort := context.WithTimeout(ctx, 10*time.Second)
	defer cancelShort()
	if err := load(t, "SAMNAV_KAFKA_TLS", "SAMNAV_KAFKA_TLS_CA_FILE").kafka().Check(short); err == nil {
		t.Error("the check passed without TLS against a TLS-only broker")
	}
	if err := load(t, "SAMNAV_KAFKA_TLS_CA_FILE").kafka().Check(short); err == nil {
		t.Error("the check passed without the CA that signed the broker's certificate")
	}
	err = load(t, "SAMNAV_KAFKA_SASL_MECHANISM", "SAMNAV_KAFKA_SASL_USERNAME", "SAMNAV_KAFKA_SASL_PASSWORD").kafka().Check(short)
	if err == nil {
		t.Error("the check passed without credentials against a broker requiring SASL")
	}
	bad := load(t)
	bad.Kafka.Password = "wrong"
	if err := bad.kafka().Check(short); !errors.Is(err, kafkaauth.ErrAuthentication) {
		t.Errorf("wrong password: %v, want ErrAuthentication", err)
	}
}
