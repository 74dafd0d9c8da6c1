package embeddedkafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
)

// The Kafka-protocol layer between the listener and kfake. Each accepted
// connection is wrapped in a kafkaConn that reads the frames kfake reads
// and writes the frames kfake writes, and changes the few answers on which
// clients depend and kfake differs from Apache Kafka 4:
//
//   - ApiVersions advertises SaslHandshake from v0, as Apache Kafka does
//     (librdkafka requires v0 in the range before it sends a handshake at
//     all), and a v0 handshake is served: it is passed to kfake as v1 (the
//     two versions' fields are the same), and the bare SASL tokens a v0
//     client sends after it (no Kafka header, KIP-152) are passed to kfake
//     as SaslAuthenticate v0 and answered bare again.
//   - Every SaslHandshake response lists the enabled mechanisms (kfake lists
//     none on success, and KafkaJS refuses a mechanism the list lacks), and a
//     mechanism that is not enabled (PLAIN, which would send the password in
//     clear on this TLS-less listener) is refused with
//     UNSUPPORTED_SASL_MECHANISM.
//   - A failed SASL login is answered with SASL_AUTHENTICATION_FAILED
//     (kfake just closes the connection, which clients retry as a network
//     error), after a delay that grows with the failures from the source
//     address and against the principal (auth.LoginLimits), and is logged
//     with both but never the password.
//   - Until a connection has authenticated, a frame larger than Apache
//     Kafka's sasl.server.max.receive.size (512 KiB) closes it.
//
// Requests the layer does not watch pass through unparsed: only their size
// and the first header fields are read, so Produce and Fetch cost no copy.
// docs/embedded-broker.md says which of these belong in kfake.

// maxUnauthenticatedFrame is Apache Kafka's sasl.server.max.receive.size.
const maxUnauthenticatedFrame = 512 * 1024

// maxLoggedPrincipal bounds the user name a failed login logs: a guesser
// chooses it.
const maxLoggedPrincipal = 128

// authFailedMessage is what Apache Kafka answers a failed SCRAM login with;
// it is the same for an unknown user and a wrong password.
const authFailedMessage = "Authentication failed during authentication due to invalid credentials with SASL mechanism "

// protocol is the layer's configuration, shared by the broker's
// connections.
type protocol struct {
	sasl       bool     // SASL is required: handshakes and logins are watched
	mechanisms []string // the enabled mechanisms, the superuser's first
	logins     *auth.FailedLogins
	wait       func(ctx context.Context, d time.Duration)
	now        func() time.Time
	logger     *slog.Logger
	// ctx ends when the broker closes, so that no held-back answer
	// delays the shutdown.
	ctx    context.Context
	cancel context.CancelFunc
}

func newProtocol(cfg Config, secure bool) *protocol {
	ctx, cancel := context.WithCancel(context.Background())
	p := &protocol{sasl: secure, wait: cfg.LoginWait, now: cfg.Now, logger: cfg.Logger, ctx: ctx, cancel: cancel}
	if secure {
		p.mechanisms = []string{cfg.Superuser.Mechanism}
		for _, m := range []string{kafkaauth.ScramSHA512, kafkaauth.ScramSHA256} {
			if !slices.Contains(p.mechanisms, m) {
				p.mechanisms = append(p.mechanisms, m)
			}
		}
		p.logins = auth.NewFailedLogins(cfg.LoginLimits)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	p.logger = p.logger.With("component", "embedded-kafka")
	return p
}

// listener wraps ln's connections in the layer.
func (p *protocol) listener(ln net.Listener) net.Listener {
	return &protocolListener{Listener: ln, p: p}
}

type protocolListener struct {
	net.Listener
	p *protocol
}

func (l *protocolListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &kafkaConn{Conn: conn, r: bufio.NewReader(conn), p: l.p, pending: map[int32]watched{}, authenticated: !l.p.sasl}
	c.source = conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(c.source); err == nil {
		c.source = host
	}
	return c, nil
}

// watched is a request whose response the layer reads or rewrites.
type watched struct {
	key, version int16
	mechanism    string // SaslHandshake: the mechanism asked for
	step         int    // SaslAuthenticate: 0 for SCRAM's first message, 1 for its last
	bare         bool   // SaslAuthenticate made from a bare v0 token: answer bare
}

// kafkaConn is one client connection seen through the layer. kfake reads
// it from one goroutine and writes it from another.
type kafkaConn struct {
	net.Conn
	p      *protocol
	source string // the client's address, without the port

	r     *bufio.Reader // the client's bytes: a request header costs no read of its own
	hdr   [12]byte
	rout  []byte // the rest of a frame the layer read, to hand to kfake
	rpass int    // bytes of the current request kfake reads straight through

	wmu   sync.Mutex
	wbuf  []byte // the start of a response not yet written
	wpass int    // bytes of the current response written straight through

	mu            sync.Mutex
	pending       map[int32]watched // by correlation id
	mechanism     string            // of the last successful handshake
	principal     string            // named in SCRAM's first message
	step          int               // SCRAM messages answered in this exchange
	bare          bool              // a v0 handshake succeeded: SASL tokens come bare
	bareCorr      int32             // correlation ids made up for bare tokens
	authenticated bool

	closeOnce sync.Once
	closeErr  error
}

// Read hands kfake the client's requests, as they came except where the
// layer serves what kfake does not.
func (c *kafkaConn) Read(p []byte) (int, error) {
	if len(c.rout) == 0 && c.rpass == 0 {
		if err := c.readFrame(); err != nil {
			return 0, err
		}
	}
	if len(c.rout) > 0 {
		n := copy(p, c.rout)
		c.rout = c.rout[n:]
		return n, nil
	}
	n, err := c.r.Read(p[:min(len(p), c.rpass)])
	c.rpass -= n
	return n, err
}

// readFrame reads the start of the next request (all of it if the layer
// watches it) into rout.
func (c *kafkaConn) readFrame() error {
	if _, err := io.ReadFull(c.r, c.hdr[:4]); err != nil {
		return err
	}
	size := int(binary.BigEndian.Uint32(c.hdr[:4]))
	c.mu.Lock()
	bare, authenticated := c.bare, c.authenticated
	c.mu.Unlock()
	if !authenticated && size > maxUnauthenticatedFrame {
		return fmt.Errorf("read request from %s: %d bytes before authentication, more than %d", c.source, size, maxUnauthenticatedFrame)
	}
	if bare {
		return c.readBareToken(size)
	}
	if size < 8 {
		return fmt.Errorf("read request from %s: %d bytes, shorter than a request header", c.source, size)
	}
	if _, err := io.ReadFull(c.r, c.hdr[4:]); err != nil {
		return err
	}
	key, version, corr := requestHeader(c.hdr[:])
	switch key {
	case kmsg.ApiVersions.Int16():
		c.watch(corr, watched{key: key, version: version})
	case kmsg.SASLHandshake.Int16(), kmsg.SASLAuthenticate.Int16():
		if c.p.sasl {
			frame := make([]byte, 4+size)
			copy(frame, c.hdr[:])
			if _, err := io.ReadFull(c.r, frame[12:]); err != nil {
				return err
			}
			c.rout = c.watchSASL(frame)
			return nil
		}
	}
	c.rout, c.rpass = c.hdr[:], size-8
	return nil
}

func (c *kafkaConn) watch(corr int32, w watched) {
	c.mu.Lock()
	c.pending[corr] = w
	c.mu.Unlock()
}

// watchSASL records a SaslHandshake or SaslAuthenticate request and
// returns the frame to hand kfake. A request that does not parse is
// handed on as it is: kfake refuses it.
func (c *kafkaConn) watchSASL(frame []byte) []byte {
	key, version, corr := requestHeader(frame)
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	r := kbin.Reader{Src: frame[12:]}
	r.NullableString() // client id
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	if r.Complete() != nil || req.ReadFrom(r.Src) != nil {
		return frame
	}
	switch req := req.(type) {
	case *kmsg.SASLHandshakeRequest:
		c.watch(corr, watched{key: key, version: version, mechanism: req.Mechanism})
		if version == 0 {
			// v0 and v1 carry the same fields; only what follows a
			// successful handshake differs, and the layer serves that.
			binary.BigEndian.PutUint16(frame[6:], 1)
		}
	case *kmsg.SASLAuthenticateRequest:
		c.mu.Lock()
		w := watched{key: key, version: version, step: c.step}
		if c.step == 0 && strings.HasPrefix(c.mechanism, "SCRAM-") {
			c.principal = scramUser(req.SASLAuthBytes)
		}
		c.pending[corr] = w
		c.mu.Unlock()
	}
	return frame
}

// readBareToken reads a SASL token sent bare after a v0 handshake and
// hands kfake a SaslAuthenticate v0 request carrying it.
func (c *kafkaConn) readBareToken(size int) error {
	token := make([]byte, size)
	if _, err := io.ReadFull(c.r, token); err != nil {
		return err
	}
	c.mu.Lock()
	c.bareCorr--
	corr, w := c.bareCorr, watched{key: kmsg.SASLAuthenticate.Int16(), step: c.step, bare: true}
	if c.step == 0 {
		c.principal = scramUser(token)
	}
	c.pending[corr] = w
	c.mu.Unlock()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = token
	frame := kbin.AppendInt32(make([]byte, 0, 16+size), 0)
	frame = kbin.AppendInt16(frame, req.Key())
	frame = kbin.AppendInt16(frame, 0)
	frame = kbin.AppendInt32(frame, corr)
	frame = kbin.AppendNullableString(frame, nil) // no client id
	c.rout = setSize(req.AppendTo(frame))
	return nil
}

// scramUser returns the user named in a SCRAM client-first message
// ("n,,n=user,r=nonce"), "" if there is none.
func scramUser(msg []byte) string {
	for _, attr := range strings.Split(string(msg), ",") {
		if name, ok := strings.CutPrefix(attr, "n="); ok {
			name = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(name)
			if len(name) > maxLoggedPrincipal {
				name = name[:maxLoggedPrincipal] + "…"
			}
			return name
		}
	}
	return ""
}

// Write writes kfake's responses to the client, rewriting those to
// watched requests. kfake writes a response in one call; a response split
// over calls is put together here too. Responses nobody watches are
// written from p as they are, without a copy.
func (c *kafkaConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if c.wpass > 0 {
			k := min(len(p), c.wpass)
			if _, err := c.Conn.Write(p[:k]); err != nil {
				return 0, err
			}
			c.wpass, p = c.wpass-k, p[k:]
			continue
		}
		head := p // the response's size and correlation id
		if len(c.wbuf) > 0 || len(p) < 8 {
			if len(c.wbuf) < 8 {
				k := min(len(p), 8-len(c.wbuf))
				c.wbuf, p = append(c.wbuf, p[:k]...), p[k:]
				if len(c.wbuf) < 8 {
					break
				}
			}
			head = c.wbuf
		}
		size, corr := responseHeader(head)
		c.mu.Lock()
		w, ok := c.pending[corr]
		delete(c.pending, corr)
		c.mu.Unlock()
		if !ok {
			if len(c.wbuf) > 0 {
				if _, err := c.Conn.Write(c.wbuf); err != nil {
					return 0, err
				}
				c.wbuf, c.wpass = c.wbuf[:0], size-4
			} else {
				c.wpass = 4 + size
			}
			continue
		}
		if len(c.wbuf) == 0 && len(p) >= 4+size {
			frame := p[:4+size]
			p = p[4+size:]
			if _, err := c.Conn.Write(c.answer(w, frame)); err != nil {
				return 0, err
			}
			continue
		}
		k := min(len(p), 4+size-len(c.wbuf))
		c.wbuf, p = append(c.wbuf, p[:k]...), p[k:]
		if len(c.wbuf) < 4+size {
			c.watch(corr, w) // the rest comes in the next call
			break
		}
		if _, err := c.Conn.Write(c.answer(w, c.wbuf)); err != nil {
			return 0, err
		}
		c.wbuf = c.wbuf[:0]
	}
	return n, nil
}

// answer returns the response frame to a watched request as Apache Kafka
// would answer it.
func (c *kafkaConn) answer(w watched, frame []byte) []byte {
	_, corr := responseHeader(frame)
	resp := kmsg.ResponseForKey(w.key)
	resp.SetVersion(w.version)
	body := frame[8:]
	if resp.IsFlexible() && w.key != kmsg.ApiVersions.Int16() {
		r := kbin.Reader{Src: body}
		kmsg.SkipTags(&r)
		body = r.Src
	}
	if len(body) < 2 || binary.BigEndian.Uint16(body) != 0 && w.key == kmsg.ApiVersions.Int16() {
		// An ApiVersions error is answered in v0 whatever was asked;
		// it carries no SaslHandshake range.
		return frame
	}
	if err := resp.ReadFrom(body); err != nil {
		c.p.logger.Warn("unreadable response from the broker passed on as it is", "key", kmsg.NameForKey(w.key), "version", w.version, "err", err)
		return frame
	}
	switch resp := resp.(type) {
	case *kmsg.ApiVersionsResponse:
		for i := range resp.ApiKeys {
			if resp.ApiKeys[i].ApiKey == kmsg.SASLHandshake.Int16() {
				resp.ApiKeys[i].MinVersion = 0
			}
		}
	case *kmsg.SASLHandshakeResponse:
		c.handshake(w, resp)
	case *kmsg.SASLAuthenticateResponse:
		c.mu.Lock()
		if resp.ErrorCode == 0 {
			c.step++
			if c.step == 2 { // SCRAM's two messages answered: logged in
				c.step, c.bare, c.authenticated = 0, false, true
			}
		}
		c.mu.Unlock()
		if w.bare {
			return setSize(append(make([]byte, 4, 4+len(resp.SASLAuthBytes)), resp.SASLAuthBytes...))
		}
	}
	return encodeResponse(corr, resp)
}

// handshake answers a SaslHandshake with the enabled mechanisms, refusing
// one that is not enabled.
func (c *kafkaConn) handshake(w watched, resp *kmsg.SASLHandshakeResponse) {
	resp.SupportedMechanisms = slices.Clone(c.p.mechanisms)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mechanism, c.step, c.principal = "", 0, ""
	if !slices.Contains(c.p.mechanisms, w.mechanism) {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return
	}
	if resp.ErrorCode == 0 {
		c.mechanism, c.bare = w.mechanism, w.version == 0
	}
}

// encodeResponse frames resp for correlation id corr.
func encodeResponse(corr int32, resp kmsg.Response) []byte {
	buf := kbin.AppendInt32(kbin.AppendInt32(make([]byte, 0, 64), 0), corr)
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		buf = append(buf, 0) // no tagged fields in the header
	}
	return setSize(resp.AppendTo(buf))
}

// requestHeader returns the key, version and correlation id of the
// request frame (its size first) that frame starts.
func requestHeader(frame []byte) (key, version int16, corr int32) {
	r := kbin.Reader{Src: frame[4:12]}
	key = r.Int16()
	version = r.Int16()
	return key, version, r.Int32()
}

// responseHeader returns the size and correlation id of the response frame
// head starts.
func responseHeader(head []byte) (size int, corr int32) {
	r := kbin.Reader{Src: head[:8]}
	size = int(r.Uint32())
	return size, r.Int32()
}

// setSize writes the size of the frame (the bytes after the size) at its
// start.
func setSize(frame []byte) []byte {
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4)) //nolint:gosec // frames are limited far below 4 GiB
	return frame
}

// Close closes the connection. kfake closes it when a login fails: the
// failure is then counted, logged and answered after its delay.
func (c *kafkaConn) Close() error {
	c.closeOnce.Do(func() {
		c.refuseLogin()
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// refuseLogin answers a SaslAuthenticate kfake refused (it closes the
// connection without an answer) as Apache Kafka does, after the delay the
// failure earned.
func (c *kafkaConn) refuseLogin() {
	if c.p.ctx.Err() != nil {
		return // the broker is closing, not refusing
	}
	c.mu.Lock()
	var (
		corr  int32
		w     watched
		found bool
	)
	for k, p := range c.pending {
		if p.key == kmsg.SASLAuthenticate.Int16() {
			corr, w, found = k, p, true
		}
	}
	principal, mechanism := c.principal, c.mechanism
	c.mu.Unlock()
	if !found {
		return
	}
	// SCRAM refuses an unknown user at its first message and a wrong
	// password at its last. Only the second guesses a principal's
	// password: the first counts against its source alone, as a guessed
	// token id does in pkg/auth.
	reason, keys := "unknown user", []string{"source " + c.source}
	if principal == "" {
		reason = "no user named"
	}
	if w.step > 0 {
		reason, keys = "wrong password", append(keys, "principal "+principal)
	}
	counts, delay := c.p.logins.Fail(c.p.now(), keys...)
	attrs := []any{"source", c.source, "principal", principal, "mechanism", mechanism, "reason", reason}
	for i, k := range keys {
		attrs = append(attrs, slog.Group(strings.Fields(k)[0], "failures", counts[i]))
	}
	c.p.logger.Warn("kafka login failed", append(attrs, "answer_delay", delay)...)
	c.hold(delay)
	if w.bare {
		return // a v0 client learns of the failure by the connection closing
	}
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.SetVersion(w.version)
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	msg := authFailedMessage + mechanism
	resp.ErrorMessage = &msg
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.SetWriteDeadline(time.Now().Add(5 * time.Second)); err == nil {
		_, _ = c.Conn.Write(encodeResponse(corr, resp))
	}
}

// hold waits d, or until the broker closes.
func (c *kafkaConn) hold(d time.Duration) {
	if d <= 0 {
		return
	}
	if c.p.wait != nil {
		c.p.wait(c.p.ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.p.ctx.Done():
	}
}

var _ net.Conn = (*kafkaConn)(nil)
