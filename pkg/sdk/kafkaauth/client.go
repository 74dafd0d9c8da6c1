package kafkaauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Defaults of Settings' optional fields.
const (
	DefaultClientID     = "samnav"
	DefaultDialTimeout  = 10 * time.Second
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// DefaultBatchTimeout is how long a writer waits to fill a batch:
	// kafka-go's own default is a full second, which every produce would
	// otherwise wait out.
	DefaultBatchTimeout = 5 * time.Millisecond
)

// Settings are everything a service's Kafka clients are built from: this
// package is the one place that turns them into kafka-go dialers (readers,
// consumer groups), transports (writers, kafka.Client) and writers, so
// SASL, TLS, client ids and timeouts are set once for the producer, the
// consumer and the admin client alike. Zero optional fields take the
// Default* values. Clients are built on kafka.Transport / kafka.Client,
// which negotiate API versions with the broker (ApiVersions): Kafka 4
// removed the protocol versions before KIP-896's baseline, and nothing
// here pins an old one.
type Settings struct {
	// Brokers are the bootstrap addresses, host:port; required.
	Brokers []string
	// SASL are the credentials; the zero value means no SASL.
	SASL Config
	// TLS turns on TLS to the brokers, verified against the system's roots
	// or, with TLSCAFile, against the PEM certificates in that file.
	TLS       bool
	TLSCAFile string
	// ClientID names the clients in the broker's logs and quotas; each
	// client gets "<ClientID>-<component>".
	ClientID string
	// DialTimeout bounds opening a connection (TCP, TLS and SASL);
	// ReadTimeout and WriteTimeout bound one request's read and write.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// env is the prefix the settings were loaded with, to name variables
	// in Validate's errors.
	env string
}

// Environment variable suffixes read by LoadSettings, besides the SASL
// ones of LoadConfig.
const (
	EnvBrokers      = "KAFKA_BROKERS"
	EnvTLS          = "KAFKA_TLS"
	EnvTLSCAFile    = "KAFKA_TLS_CA_FILE"
	EnvClientID     = "KAFKA_CLIENT_ID"
	EnvDialTimeout  = "KAFKA_DIAL_TIMEOUT"
	EnvReadTimeout  = "KAFKA_READ_TIMEOUT"
	EnvWriteTimeout = "KAFKA_WRITE_TIMEOUT"
)

// LoadSettings reads the settings from prefix+Env* (for example
// SAMNAV_KAFKA_BROKERS, a comma-separated list) through getenv. It does
// not validate; an unreadable value is reported, naming its variable.
func LoadSettings(getenv func(string) string, prefix string) (Settings, error) {
	s := Settings{SASL: LoadConfig(getenv, prefix), TLSCAFile: getenv(prefix + EnvTLSCAFile), ClientID: getenv(prefix + EnvClientID), env: prefix}
	for _, b := range strings.Split(getenv(prefix+EnvBrokers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			s.Brokers = append(s.Brokers, b)
		}
	}
	var errs []error
	if v := getenv(prefix + EnvTLS); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s %q: must be true or false", prefix, EnvTLS, v))
		}
		s.TLS = on
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{EnvDialTimeout, &s.DialTimeout}, {EnvReadTimeout, &s.ReadTimeout}, {EnvWriteTimeout, &s.WriteTimeout}} {
		if v := getenv(prefix + d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s %q: must be a duration such as 10s", prefix, d.name, v))
			}
			*d.to = t
		}
	}
	return s, errors.Join(errs...)
}

// name names a setting in an error: its environment variable when the
// settings were loaded from the environment, else its field.
func (s Settings) name(field, env string) string {
	if s.env != "" {
		return s.env + env
	}
	return field
}

// Validate reports every problem with s at once, each naming the
// variable (or field) and the rule.
func (s Settings) Validate() error {
	var errs []error
	if len(s.Brokers) == 0 {
		errs = append(errs, fmt.Errorf("%s: at least one Kafka bootstrap address is required", s.name("brokers", EnvBrokers)))
	}
	for i, b := range s.Brokers {
		if host, port, err := net.SplitHostPort(b); err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("%s[%d] %q: must be host:port", s.name("brokers", EnvBrokers), i, b))
		}
	}
	if err := s.SASL.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", s.name("sasl", "KAFKA_SASL_*"), err))
	}
	if s.TLSCAFile != "" {
		if !s.TLS {
			errs = append(errs, fmt.Errorf("%s: set only with %s=true", s.name("tls ca file", EnvTLSCAFile), s.name("tls", EnvTLS)))
		}
		if _, err := s.caPool(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.SASL.Mechanism == Plain && !s.TLS {
		errs = append(errs, fmt.Errorf("%s: PLAIN sends the password itself and needs %s=true", s.name("sasl mechanism", EnvMechanism), s.name("tls", EnvTLS)))
	}
	for _, d := range []struct {
		field, env string
		v          time.Duration
	}{{"dial timeout", EnvDialTimeout, s.DialTimeout}, {"read timeout", EnvReadTimeout, s.ReadTimeout}, {"write timeout", EnvWriteTimeout, s.WriteTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: must not be negative", s.name(d.field, d.env), d.v))
		}
	}
	if strings.ContainsFunc(s.ClientID, func(r rune) bool { return r < ' ' || r > '~' }) {
		errs = append(errs, fmt.Errorf("%s %q: must be printable ASCII", s.name("client id", EnvClientID), s.ClientID))
	}
	return errors.Join(errs...)
}

func (s Settings) clientID(component string) string {
	id := s.ClientID
	if id == "" {
		id = DefaultClientID
	}
	if component == "" {
		return id
	}
	return id + "-" + component
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (s Settings) tlsConfig() (*tls.Config, error) {
	if !s.TLS {
		return nil, nil
	}
	pool, err := s.caPool()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// caPool returns the certificates of TLSCAFile, or nil (the system's
// roots) without one.
func (s Settings) caPool() (*x509.CertPool, error) {
	if s.TLSCAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(s.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name("tls ca file", EnvTLSCAFile), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: holds no PEM certificate", s.name("tls ca file", EnvTLSCAFile), s.TLSCAFile)
	}
	return pool, nil
}

// Dialer returns a dialer for readers and consumer groups.
func (s Settings) Dialer(component string) (*kafka.Dialer, error) {
	m, err := s.SASL.SASL()
	if err != nil {
		return nil, err
	}
	t, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: s.clientID(component), Timeout: or(s.DialTimeout, DefaultDialTimeout), DualStack: true, SASLMechanism: m, TLS: t}, nil
}

// Transport returns a transport for writers and kafka.Client. Its owner
// closes its idle connections when done.
func (s Settings) Transport(component string) (*kafka.Transport, error) {
	m, err := s.SASL.SASL()
	if err != nil {
		return nil, err
	}
	t, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{ClientID: s.clientID(component), DialTimeout: or(s.DialTimeout, DefaultDialTimeout), MetadataTTL: time.Second, SASL: m, TLS: t}, nil
}

// Client returns a version-negotiating admin client on a transport of its
// own, and the function that closes the transport's connections. Each
// request is bounded by ReadTimeout.
func (s Settings) Client(component string) (*kafka.Client, func(), error) {
	t, err := s.Transport(component)
	if err != nil {
		return nil, nil, err
	}
	return &kafka.Client{Addr: kafka.TCP(s.Brokers...), Timeout: or(s.ReadTimeout, DefaultReadTimeout), Transport: t}, t.CloseIdleConnections, nil
}

// WriterOptions are a producer's own choices; the rest comes from
// Settings.
type WriterOptions struct {
	// Transport carries the writer's requests; nil means a new one from
	// Settings (the writer's Close does not close it: use Transport and
	// close it yourself when connections must not linger).
	Transport kafka.RoundTripper
	// BatchSize and BatchBytes bound one produce request per partition;
	// zero takes kafka-go's defaults (100 messages, 1 MiB).
	BatchSize  int
	BatchBytes int64
	// BatchTimeout is how long a batch waits to fill; default
	// DefaultBatchTimeout.
	BatchTimeout time.Duration
	// MaxAttempts is how often kafka-go tries one batch; zero takes its
	// default (10). A producer that retries itself sets 1.
	MaxAttempts int
	// ErrorLogger receives kafka-go's error logs.
	ErrorLogger kafka.Logger
}

// Writer returns a producer that requires every in-sync replica's
// acknowledgement (acks=all; kafka-go's default is none), partitions by
// key with murmur2 (the Java client's default, and pkg/sdk/kafkago's: a key
// lands on the same partition whoever publishes it) and bounds each
// request by WriteTimeout and ReadTimeout.
func (s Settings) Writer(component string, o WriterOptions) (*kafka.Writer, error) {
	t := o.Transport
	if t == nil {
		tr, err := s.Transport(component)
		if err != nil {
			return nil, err
		}
		t = tr
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(s.Brokers...),
		Balancer:     &kafka.Murmur2Balancer{},
		MaxAttempts:  o.MaxAttempts,
		BatchSize:    o.BatchSize,
		BatchBytes:   o.BatchBytes,
		BatchTimeout: or(o.BatchTimeout, DefaultBatchTimeout),
		ReadTimeout:  or(s.ReadTimeout, DefaultReadTimeout),
		WriteTimeout: or(s.WriteTimeout, DefaultWriteTimeout),
		RequiredAcks: kafka.RequireAll,
		Transport:    t,
		ErrorLogger:  o.ErrorLogger,
	}, nil
}
