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
	"github.com/segmentio/kafka-go/sasl"
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
// here pins an old one. Every builder validates the settings first.
type Settings struct {
	// Brokers are the bootstrap addresses, host:port; required.
	Brokers []string
	// SASL are the credentials; the zero value means no SASL.
	SASL Config
	// Connection is how to connect besides where and as whom: TLS, client
	// id, timeouts.
	Connection
}

// Connection is the part of Settings that is neither the brokers nor the
// credentials: a service keeps it beside those two, which tests and
// `samnav dev` set directly.
type Connection struct {
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
	s := Settings{SASL: LoadConfig(getenv, prefix), Connection: Connection{TLSCAFile: getenv(prefix + EnvTLSCAFile), ClientID: getenv(prefix + EnvClientID), env: prefix}}
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
func (c Connection) name(field, env string) string {
	if c.env != "" {
		return c.env + env
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
	if err := s.Connection.Validate(s.SASL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate reports every problem with c at once, each naming the variable
// (or field) and the rule, including the rules between c and the
// credentials it carries (PLAIN only over TLS). The credentials' own rules
// are Config.Validate's.
func (c Connection) Validate(creds Config) error {
	var errs []error
	if c.TLSCAFile != "" {
		if !c.TLS {
			errs = append(errs, fmt.Errorf("%s: set only with %s=true", c.name("tls ca file", EnvTLSCAFile), c.name("tls", EnvTLS)))
		}
		if _, err := c.caPool(); err != nil {
			errs = append(errs, err)
		}
	}
	if creds.Mechanism == Plain && !c.TLS {
		errs = append(errs, fmt.Errorf("%s: PLAIN sends the password itself and needs %s=true", c.name("sasl mechanism", EnvMechanism), c.name("tls", EnvTLS)))
	}
	for _, d := range []struct {
		field, env string
		v          time.Duration
	}{{"dial timeout", EnvDialTimeout, c.DialTimeout}, {"read timeout", EnvReadTimeout, c.ReadTimeout}, {"write timeout", EnvWriteTimeout, c.WriteTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: must not be negative", c.name(d.field, d.env), d.v))
		}
	}
	if strings.ContainsFunc(c.ClientID, func(r rune) bool { return r < ' ' || r > '~' }) {
		errs = append(errs, fmt.Errorf("%s %q: must be printable ASCII", c.name("client id", EnvClientID), c.ClientID))
	}
	return errors.Join(errs...)
}

func (c Connection) clientID(component string) string {
	id := c.ClientID
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

func (c Connection) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	pool, err := c.caPool()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// caPool returns the certificates of TLSCAFile, or nil (the system's
// roots) without one.
func (c Connection) caPool() (*x509.CertPool, error) {
	if c.TLSCAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name("tls ca file", EnvTLSCAFile), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: holds no PEM certificate", c.name("tls ca file", EnvTLSCAFile), c.TLSCAFile)
	}
	return pool, nil
}

// validateClient is Validate without the brokers, for the builders that
// do not need them (a dialer or transport is told where to connect).
func (s Settings) validateClient() error {
	return errors.Join(s.SASL.Validate(), s.Connection.Validate(s.SASL))
}

// Dialer returns a dialer for readers and consumer groups.
func (s Settings) Dialer(component string) (*kafka.Dialer, error) {
	m, t, err := s.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: s.clientID(component), Timeout: or(s.DialTimeout, DefaultDialTimeout), DualStack: true, SASLMechanism: m, TLS: t}, nil
}

// security validates s (brokers aside) and returns its SASL mechanism and
// TLS configuration, either nil when not asked for.
func (s Settings) security() (sasl.Mechanism, *tls.Config, error) {
	if err := s.validateClient(); err != nil {
		return nil, nil, fmt.Errorf("kafka settings: %w", err)
	}
	m, err := s.SASL.SASL()
	if err != nil {
		return nil, nil, err
	}
	t, err := s.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	return m, t, nil
}

// Transport returns a transport for writers and kafka.Client. Its owner
// closes its idle connections when done.
func (s Settings) Transport(component string) (*kafka.Transport, error) {
	m, t, err := s.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{ClientID: s.clientID(component), DialTimeout: or(s.DialTimeout, DefaultDialTimeout), MetadataTTL: transportMetadataTTL, SASL: m, TLS: t}, nil
}

// transportMetadataTTL is how often a transport refreshes cluster metadata.
// kafka-go's transport also keeps a failed refresh's error until the next
// one, so this bounds how long a request keeps failing after a broker came
// back (kafka-go's default of 6s made recovery take up to 6s).
const transportMetadataTTL = time.Second

// Client returns a version-negotiating admin client on a transport of its
// own, and the function that closes the transport's connections. Each
// request is bounded by ReadTimeout.
func (s Settings) Client(component string) (*kafka.Client, func(), error) {
	if err := s.Validate(); err != nil {
		return nil, nil, fmt.Errorf("kafka settings: %w", err)
	}
	t, err := s.Transport(component)
	if err != nil {
		return nil, nil, err
	}
	return ClientOn(t, or(s.ReadTimeout, DefaultReadTimeout), s.Brokers...), t.CloseIdleConnections, nil
}

// ClientOn returns a version-negotiating client for brokers whose requests
// go over rt (a transport from Settings or TransportFor, shared with the
// writer it serves), each bounded by timeout.
func ClientOn(rt kafka.RoundTripper, timeout time.Duration, brokers ...string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: timeout, Transport: rt}
}

// DefaultDialer returns a dialer with Settings' defaults and no SASL or
// TLS, for a consumer configured by brokers alone.
func DefaultDialer() *kafka.Dialer {
	return &kafka.Dialer{ClientID: DefaultClientID, Timeout: DefaultDialTimeout, DualStack: true}
}

// TransportFor returns a transport that connects as d does (client id,
// dial function and timeout, TLS, SASL), for the admin requests and
// producers of a consumer configured by its dialer; a nil d connects as
// Settings' defaults do. Its owner closes its idle connections when done.
func TransportFor(d *kafka.Dialer) *kafka.Transport {
	if d == nil {
		d = DefaultDialer()
	}
	return &kafka.Transport{ClientID: d.ClientID, Dial: d.DialFunc, DialTimeout: or(d.Timeout, DefaultDialTimeout), SASL: d.SASLMechanism, TLS: d.TLS, MetadataTTL: transportMetadataTTL}
}

// Acks is how many replicas acknowledge a write before it counts as done.
// The zero value is AcksAll: kafka-go's own zero value asks for none.
type Acks int

const (
	// AcksAll waits for every in-sync replica (acks=all): nothing
	// acknowledged is lost while one of them survives.
	AcksAll Acks = iota
	// AcksLeader waits for the partition leader only.
	AcksLeader
	// AcksNone does not wait: a write may be lost without an error.
	AcksNone
)

func (a Acks) required() kafka.RequiredAcks {
	switch a {
	case AcksLeader:
		return kafka.RequireOne
	case AcksNone:
		return kafka.RequireNone
	default:
		return kafka.RequireAll
	}
}

// WriterOptions are a producer's own choices; the rest comes from
// Settings.
type WriterOptions struct {
	// Transport carries the writer's requests; nil means a new one from
	// Settings (the writer's Close does not close it: use Transport and
	// close it yourself when connections must not linger).
	Transport kafka.RoundTripper
	// Acks defaults to AcksAll.
	Acks Acks
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
	// Compression compresses each batch; zero means none.
	Compression kafka.Compression
	// AllowAutoTopicCreation lets a write to an unknown topic ask the
	// broker to create it (it still must have auto.create.topics.enable).
	AllowAutoTopicCreation bool
	// ErrorLogger receives kafka-go's error logs.
	ErrorLogger kafka.Logger
}

// Writer returns a producer that requires every in-sync replica's
// acknowledgement unless o says otherwise (acks=all; kafka-go's default
// is none), waits DefaultBatchTimeout rather than kafka-go's full second
// to fill a batch, partitions by key with murmur2 (the Java client's
// default, and pkg/sdk/kafkago's: a key lands on the same partition
// whoever publishes it) and bounds each request by WriteTimeout and
// ReadTimeout.
func (s Settings) Writer(component string, o WriterOptions) (*kafka.Writer, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("kafka settings: %w", err)
	}
	t := o.Transport
	if t == nil {
		tr, err := s.Transport(component)
		if err != nil {
			return nil, err
		}
		t = tr
	}
	return &kafka.Writer{
		Addr:                   kafka.TCP(s.Brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		MaxAttempts:            o.MaxAttempts,
		BatchSize:              o.BatchSize,
		BatchBytes:             o.BatchBytes,
		BatchTimeout:           or(o.BatchTimeout, DefaultBatchTimeout),
		ReadTimeout:            or(s.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:           or(s.WriteTimeout, DefaultWriteTimeout),
		RequiredAcks:           o.Acks.required(),
		Compression:            o.Compression,
		AllowAutoTopicCreation: o.AllowAutoTopicCreation,
		Transport:              t,
		ErrorLogger:            o.ErrorLogger,
	}, nil
}
