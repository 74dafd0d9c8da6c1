// Package kafkaauth is the one place Samnav's Kafka clients are built:
// Settings (brokers, SASL credentials, TLS, client id, timeouts; loaded
// from SAMNAV_KAFKA_* and validated all at once) turn into the kafka-go
// dialer, transport, admin client and acks=all writer every service uses,
// so one validated configuration reaches the producer, the consumer and
// the admin client alike. Config is the credentials part (SASL
// mechanism, username, password).
//
// SCRAM-SHA-512 is the preferred mechanism: the password never crosses the
// wire (SCRAM is a salted challenge-response) and the broker keeps only a
// salted hash, which matters on a listener without TLS such as `samnav dev`.
// PLAIN sends the password itself and is accepted only for brokers that
// offer nothing else (it must then run over TLS).
package kafkaauth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanisms, named as Kafka's sasl.mechanism names them.
const (
	ScramSHA512 = "SCRAM-SHA-512"
	ScramSHA256 = "SCRAM-SHA-256"
	Plain       = "PLAIN"
)

// Config is a client's Kafka credentials. The zero value means no
// authentication (a listener with PLAINTEXT and no SASL).
type Config struct {
	// Mechanism is SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN; empty means no
	// SASL, in which case Username and Password must be empty too.
	Mechanism string
	Username  string
	Password  string
}

// Enabled reports whether c asks for SASL.
func (c Config) Enabled() bool { return c.Mechanism != "" }

// Principal is the Kafka principal the broker sees for c, "User:<name>".
func (c Config) Principal() string { return "User:" + c.Username }

// Validate reports every problem with c at once, each naming the field and
// the rule.
func (c Config) Validate() error {
	var errs []error
	switch c.Mechanism {
	case "":
		if c.Username != "" || c.Password != "" {
			errs = append(errs, errors.New("mechanism: required when a username or password is set (SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)"))
		}
		return errors.Join(errs...)
	case ScramSHA512, ScramSHA256, Plain:
	default:
		errs = append(errs, fmt.Errorf("mechanism: %q is not SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN", c.Mechanism))
	}
	switch {
	case c.Username == "":
		errs = append(errs, errors.New("username: required with a SASL mechanism"))
	case strings.ContainsAny(c.Username, ",=\x00") || strings.TrimSpace(c.Username) != c.Username:
		errs = append(errs, fmt.Errorf("username %q: must not contain ',', '=', NUL or surrounding spaces", c.Username))
	}
	if c.Password == "" {
		errs = append(errs, errors.New("password: required with a SASL mechanism"))
	}
	return errors.Join(errs...)
}

// SASL returns the kafka-go mechanism for c, or nil when c is not Enabled.
func (c Config) SASL() (sasl.Mechanism, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka credentials: %w", err)
	}
	switch c.Mechanism {
	case "":
		return nil, nil
	case Plain:
		return plain.Mechanism{Username: c.Username, Password: c.Password}, nil
	case ScramSHA256:
		return scram.Mechanism(scram.SHA256, c.Username, c.Password)
	default:
		return scram.Mechanism(scram.SHA512, c.Username, c.Password)
	}
}

// Dialer returns a dialer for readers and consumer groups with c's
// mechanism set (Settings.Dialer with only these credentials).
func (c Config) Dialer(clientID string) (*kafka.Dialer, error) {
	return Settings{SASL: c, Connection: Connection{ClientID: clientID}}.Dialer("")
}

// Transport returns a transport for writers and kafka.Client with c's
// mechanism set (Settings.Transport with only these credentials). Its
// owner closes its idle connections when done.
func (c Config) Transport(clientID string) (*kafka.Transport, error) {
	return Settings{SASL: c, Connection: Connection{ClientID: clientID}}.Transport("")
}

// Client returns a version-negotiating admin client for brokers on a
// transport of its own, and the function that closes the transport's
// connections (Settings.Client with only these credentials).
func (c Config) Client(timeout time.Duration, brokers ...string) (*kafka.Client, func(), error) {
	return Settings{Brokers: brokers, SASL: c, Connection: Connection{ClientID: "samnav-admin", ReadTimeout: timeout}}.Client("")
}

// Check connects to brokers as c (without TLS) and asks for the cluster's
// metadata: Settings.Check with only these credentials.
func (c Config) Check(ctx context.Context, brokers ...string) error {
	return Settings{Brokers: brokers, SASL: c}.Check(ctx)
}

// Check connects to the brokers as s says and asks for the cluster's
// metadata, so a service with wrong credentials or TLS settings fails at
// start with a clear error rather than retrying a closed connection
// forever. An authentication failure wraps ErrAuthentication.
func (s Settings) Check(ctx context.Context) error {
	t, err := s.Transport("check")
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("kafka settings: %w", err)
	}
	defer t.CloseIdleConnections()
	var tm *trackedMechanism
	if t.SASL != nil {
		tm = &trackedMechanism{Mechanism: t.SASL}
		t.SASL = tm
	}
	c, brokers := s.SASL, strings.Join(s.Brokers, ",")
	_, err = ClientOn(t, or(s.ReadTimeout, DefaultReadTimeout), s.Brokers...).Metadata(ctx, &kafka.MetadataRequest{})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kafka.SASLAuthenticationFailed), tm != nil && tm.started.Load() && !tm.done.Load():
		// Apache Kafka answers SASL_AUTHENTICATION_FAILED; a broker may
		// instead close the connection mid-exchange.
		return fmt.Errorf("kafka %s: user %q (%s): %w: wrong username or password, or the broker does not offer %s (%w)",
			brokers, c.Username, c.Mechanism, ErrAuthentication, c.Mechanism, err)
	case tm == nil && errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("kafka %s: the broker closed the connection before answering: it may require SASL (set a mechanism, username and password): %w", brokers, err)
	default:
		return fmt.Errorf("kafka %s: %w", brokers, err)
	}
}

// ErrAuthentication is wrapped by Check when the broker refused the
// credentials.
var ErrAuthentication = errors.New("authentication failed")

// trackedMechanism records whether a SASL exchange began and completed, to
// tell a refused login from a broker that is down.
type trackedMechanism struct {
	sasl.Mechanism
	started, done atomic.Bool
}

func (m *trackedMechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	m.started.Store(true)
	sm, ir, err := m.Mechanism.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return trackedState{sm: sm, done: &m.done}, ir, nil
}

type trackedState struct {
	sm   sasl.StateMachine
	done *atomic.Bool
}

func (s trackedState) Next(ctx context.Context, challenge []byte) (bool, []byte, error) {
	done, resp, err := s.sm.Next(ctx, challenge)
	if done && err == nil {
		s.done.Store(true)
	}
	return done, resp, err
}

// Environment variable suffixes read by LoadConfig.
const (
	EnvMechanism = "KAFKA_SASL_MECHANISM"
	EnvUsername  = "KAFKA_SASL_USERNAME"
	EnvPassword  = "KAFKA_SASL_PASSWORD" //nolint:gosec // the variable's name, not a credential
)

// LoadConfig reads prefix+EnvMechanism, prefix+EnvUsername and
// prefix+EnvPassword (for example SAMNAV_KAFKA_SASL_MECHANISM) through
// getenv. The mechanism is upper-cased. It does not validate.
func LoadConfig(getenv func(string) string, prefix string) Config {
	return Config{
		Mechanism: strings.ToUpper(strings.TrimSpace(getenv(prefix + EnvMechanism))),
		Username:  getenv(prefix + EnvUsername),
		Password:  getenv(prefix + EnvPassword),
	}
}

// scramIterations is Kafka's minimum and default for SCRAM credentials.
const scramIterations = 4096

// UpsertSCRAMUser creates or replaces the SCRAM credential of username on
// the cluster through the Kafka protocol (AlterUserScramCredentials, as
// kafka-configs.sh --alter --add-config does). The salted password is
// computed here, so the password itself never reaches the broker. client
// must act as a principal allowed to alter the cluster.
func UpsertSCRAMUser(ctx context.Context, client *kafka.Client, mechanism, username, password string) error {
	cfg := Config{Mechanism: mechanism, Username: username, Password: password}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("upsert kafka user: %w", err)
	}
	var (
		m  kafka.ScramMechanism
		hf func() hash.Hash
	)
	switch mechanism {
	case ScramSHA256:
		m, hf = kafka.ScramMechanismSha256, sha256.New
	case ScramSHA512:
		m, hf = kafka.ScramMechanismSha512, sha512.New
	default:
		return fmt.Errorf("upsert kafka user %q: mechanism: %s users are not managed over the Kafka protocol; use SCRAM-SHA-512 or SCRAM-SHA-256", username, mechanism)
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("upsert kafka user %q: salt: %w", username, err)
	}
	salted, err := pbkdf2.Key(hf, password, salt, scramIterations, hf().Size())
	if err != nil {
		return fmt.Errorf("upsert kafka user %q: salted password: %w", username, err)
	}
	resp, err := client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Upsertions: []kafka.UserScramCredentialsUpsertion{{Name: username, Mechanism: m, Iterations: scramIterations, Salt: salt, SaltedPassword: salted}},
	})
	if err != nil {
		return fmt.Errorf("upsert kafka user %q: %w", username, err)
	}
	for _, r := range resp.Results {
		if r.Error != nil {
			return fmt.Errorf("upsert kafka user %q: %w", r.User, r.Error)
		}
	}
	return nil
}

// DeleteSCRAMUser removes username's credential of the given mechanism.
// A user without one is not an error.
func DeleteSCRAMUser(ctx context.Context, client *kafka.Client, mechanism, username string) error {
	m := kafka.ScramMechanismSha512
	if mechanism == ScramSHA256 {
		m = kafka.ScramMechanismSha256
	}
	resp, err := client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Deletions: []kafka.UserScramCredentialsDeletion{{Name: username, Mechanism: m}},
	})
	if err != nil {
		return fmt.Errorf("delete kafka user %q: %w", username, err)
	}
	for _, r := range resp.Results {
		if r.Error != nil && !errors.Is(r.Error, kafka.ResourceNotFound) {
			return fmt.Errorf("delete kafka user %q: %w", r.User, r.Error)
		}
	}
	return nil
}

// GeneratePassword returns a random password of 32 URL-safe characters.
func GeneratePassword() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate kafka password: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
