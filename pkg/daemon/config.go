// Package daemon is the one lifecycle of every Samnav program: each
// cmd/*d binary and `samnav dev`. It reads the settings every daemon shares
// from the environment (listen address, log level and format, OTLP
// endpoint, shutdown grace, HTTP limits), sets up logging and telemetry
// (Setup), and runs a program's HTTP servers and background workers in one
// errgroup until its context ends (Serve), then drains: the servers stop
// accepting and finish the requests in flight within the grace period, the
// workers stop, and the program's stores are closed.
//
// Every server Serve starts has read, write and idle timeouts, a header
// size limit and a limit on concurrent requests (503 with Retry-After
// beyond it), serves /livez, /healthz and /metrics, and records
// http.server.request.duration and http.server.active_requests by route
// pattern (see Instrument).
package daemon

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Environment variables every daemon reads (LoadConfig). The listen
// address is per service: SAMNAV_<SERVICE>_ADDR.
const (
	// EnvLogLevel is debug, info (default), warn or error.
	EnvLogLevel = "SAMNAV_LOG_LEVEL"
	// EnvLogFormat is text (default) or json.
	EnvLogFormat = "SAMNAV_LOG_FORMAT"
	// EnvOTLPEndpoint is the OTLP/HTTP base URL traces and metrics are
	// exported to; unset means none (Prometheus /metrics is always served).
	EnvOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// EnvShutdownGrace is how long requests in flight may take to finish
	// after SIGTERM (a Go duration; default DefaultShutdownGrace).
	EnvShutdownGrace = "SAMNAV_SHUTDOWN_GRACE"
	// HTTP server limits (Go durations, and counts).
	EnvHTTPReadHeaderTimeout = "SAMNAV_HTTP_READ_HEADER_TIMEOUT"
	EnvHTTPReadTimeout       = "SAMNAV_HTTP_READ_TIMEOUT"
	EnvHTTPWriteTimeout      = "SAMNAV_HTTP_WRITE_TIMEOUT" //nolint:gosec // G101: the name of an environment variable, not a credential
	EnvHTTPIdleTimeout       = "SAMNAV_HTTP_IDLE_TIMEOUT"
	EnvHTTPMaxHeaderBytes    = "SAMNAV_HTTP_MAX_HEADER_BYTES"
	EnvHTTPMaxInFlight       = "SAMNAV_HTTP_MAX_IN_FLIGHT"
)

// DefaultShutdownGrace is the default time requests in flight get to finish
// after SIGTERM: below Kubernetes' default 30 s termination grace period,
// so the process exits on its own before it is killed.
const DefaultShutdownGrace = 25 * time.Second

// HTTP holds the limits of every HTTP server of a daemon. Zero fields take
// the defaults of DefaultHTTP.
type HTTP struct {
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (bulk
	// imports upload large bodies).
	ReadTimeout time.Duration
	// WriteTimeout bounds a response. It is above the pull feed's longest
	// long poll (60 s); a handler that waits longer extends its own
	// deadline with http.ResponseController.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
	// MaxInFlight bounds requests served at once; beyond it a request is
	// answered 503 with Retry-After at once. /livez, /healthz and
	// /metrics are not counted, so probes answer under load.
	MaxInFlight int
}

// DefaultHTTP are the limits used for every zero field of HTTP.
var DefaultHTTP = HTTP{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       5 * time.Minute,
	WriteTimeout:      90 * time.Second,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    64 << 10,
	MaxInFlight:       1024,
}

// WithDefaults returns h with every zero field set from DefaultHTTP.
func (h HTTP) WithDefaults() HTTP {
	d := DefaultHTTP
	h.ReadHeaderTimeout = cmp.Or(h.ReadHeaderTimeout, d.ReadHeaderTimeout)
	h.ReadTimeout = cmp.Or(h.ReadTimeout, d.ReadTimeout)
	h.WriteTimeout = cmp.Or(h.WriteTimeout, d.WriteTimeout)
	h.IdleTimeout = cmp.Or(h.IdleTimeout, d.IdleTimeout)
	h.MaxHeaderBytes = cmp.Or(h.MaxHeaderBytes, d.MaxHeaderBytes)
	h.MaxInFlight = cmp.Or(h.MaxInFlight, d.MaxInFlight)
	return h
}

// Config is what every daemon shares.
type Config struct {
	// Service names the program ("delivery"); telemetry reports it as
	// service.name samnav-<Service>.
	Service string
	// Addr is the listen address of the service's HTTP server.
	Addr      string
	LogLevel  string
	LogFormat string
	// OTLPEndpoint: see EnvOTLPEndpoint.
	OTLPEndpoint string
	// ShutdownGrace: see EnvShutdownGrace; 0 means DefaultShutdownGrace.
	ShutdownGrace time.Duration
	HTTP          HTTP
}

// Grace returns ShutdownGrace or its default.
func (c Config) Grace() time.Duration {
	if c.ShutdownGrace <= 0 {
		return DefaultShutdownGrace
	}
	return c.ShutdownGrace
}

// AddrEnv is the environment variable of service's listen address,
// SAMNAV_<SERVICE>_ADDR.
func AddrEnv(service string) string { return ServiceEnv(service, SettingAddr) }

// LoadConfig reads the shared settings of service from the environment
// through getenv; an unset address is defaultAddr. It reports every
// problem at once, each naming its variable and the rule.
func LoadConfig(getenv func(string) string, service, defaultAddr string) (Config, error) {
	addrEnv := AddrEnv(service)
	env := NewEnv(getenv)
	c := Config{Service: service, Addr: env.String(addrEnv), LogLevel: strings.ToLower(env.String(EnvLogLevel)),
		LogFormat: strings.ToLower(env.String(EnvLogFormat)), OTLPEndpoint: env.String(EnvOTLPEndpoint),
		ShutdownGrace: env.PositiveDuration(EnvShutdownGrace),
		HTTP: HTTP{ReadHeaderTimeout: env.PositiveDuration(EnvHTTPReadHeaderTimeout), ReadTimeout: env.PositiveDuration(EnvHTTPReadTimeout),
			WriteTimeout: env.PositiveDuration(EnvHTTPWriteTimeout), IdleTimeout: env.PositiveDuration(EnvHTTPIdleTimeout),
			MaxHeaderBytes: env.PositiveInt(EnvHTTPMaxHeaderBytes), MaxInFlight: env.PositiveInt(EnvHTTPMaxInFlight)}}
	if c.Addr == "" {
		c.Addr = defaultAddr
	}
	env.Fail(c.validate(addrEnv))
	return c, env.Err()
}

// Validate reports every problem with c at once, naming the environment
// variable each field is read from.
func (c Config) Validate() error { return c.validate(AddrEnv(c.Service)) }

func (c Config) validate(addrEnv string) error {
	var errs []error
	if strings.TrimSpace(c.Service) == "" {
		errs = append(errs, errors.New("Service: must not be empty"))
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: must be host:port (\":8080\"), got %q", addrEnv, c.Addr))
		}
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("%s: must be debug, info, warn or error, got %q", EnvLogLevel, c.LogLevel))
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("%s: must be text or json, got %q", EnvLogFormat, c.LogFormat))
	}
	if c.OTLPEndpoint != "" {
		u, err := url.Parse(c.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: must be an absolute http or https URL, got %q", EnvOTLPEndpoint, c.OTLPEndpoint))
		}
	}
	for _, f := range []struct {
		env string
		d   time.Duration
	}{{EnvShutdownGrace, c.ShutdownGrace}, {EnvHTTPReadHeaderTimeout, c.HTTP.ReadHeaderTimeout}, {EnvHTTPReadTimeout, c.HTTP.ReadTimeout},
		{EnvHTTPWriteTimeout, c.HTTP.WriteTimeout}, {EnvHTTPIdleTimeout, c.HTTP.IdleTimeout}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", f.env))
		}
	}
	if c.HTTP.MaxHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative", EnvHTTPMaxHeaderBytes))
	}
	if c.HTTP.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative", EnvHTTPMaxInFlight))
	}
	return errors.Join(errs...)
}

// CheckHostPort returns a problem naming field when addr is not host:port
// (":8080", "kafka-1:9092"); nil when it is.
func CheckHostPort(field, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s: must be host:port: %w", field, err)
	}
	return nil
}

// NameVariables returns errs joined, each error whose message begins with
// the name of a Config field ("Driver: ...", "Brokers[0]: ...") followed
// by the environment variable vars names for that field (the first of
// vars that names it), so that an operator who configures by environment
// reads which variable to fix. A Validate reporting field names ends with
// it.
func NameVariables(errs []error, vars ...map[string]string) error {
	lookup := func(key string) (string, bool) {
		for _, m := range vars {
			if env, ok := m[key]; ok {
				return env, true
			}
		}
		return "", false
	}
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		if err == nil {
			continue
		}
		msg := err.Error()
		// The whole text before the colon ("DSN or DataDir"), else the
		// field's name alone ("Brokers" of "Brokers[0]").
		whole, _, _ := strings.Cut(msg, ":")
		field := msg[:strings.IndexFunc(msg+":", func(r rune) bool { return r == ':' || r == '[' || r == ' ' || r == '.' })]
		if env, ok := lookup(whole); ok {
			err = fmt.Errorf("%w (%s)", err, env)
		} else if env, ok := lookup(field); ok {
			err = fmt.Errorf("%w (%s)", err, env)
		}
		out = append(out, err)
	}
	return errors.Join(out...)
}
