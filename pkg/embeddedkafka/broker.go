// Package embeddedkafka runs a Kafka-protocol broker inside the process
// (franz-go's kfake) for `samnav dev` and for tests.
//
// Samnav's code never calls the broker's own API beyond starting and
// stopping it: topics are created, and data produced and consumed, over the
// Kafka protocol exactly as against Apache Kafka. With a DataDir the broker
// persists its log and group offsets and reloads them on the next Start, so a
// restart mid-stream behaves like a broker restart in production.
//
// With Config.Superuser set, the broker requires SASL (SCRAM) from every
// client and enforces ACLs: the superuser (the hub's own services) may do
// everything, any other user only what an ACL allows. Users and ACLs are
// managed over the Kafka protocol (AlterUserScramCredentials, CreateAcls,
// DeleteAcls), exactly as on Apache Kafka, and persist in DataDir.
package embeddedkafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samnav/samnav/pkg/auth"
	"github.com/samnav/samnav/pkg/sdk/kafkaauth"
	"github.com/samnav/samnav/pkg/sdk/kafkatopics"
)

// DefaultAddr is where `samnav dev` listens, as a local Apache Kafka would.
const DefaultAddr = "127.0.0.1:9092"

// Config configures an embedded broker. The zero value is an in-memory broker
// on a free port of 127.0.0.1.
type Config struct {
	// Addr is host:port to listen on. The host must be a loopback address;
	// the port may be 0 for a free one. Empty means 127.0.0.1:0.
	Addr string
	// DataDir, when set, makes the broker persistent: it writes its log,
	// topics and committed offsets there and reloads them on Start.
	DataDir string
	// SyncWrites fsyncs every produced batch (slower, but no acknowledged
	// record is lost even if the process is killed). Without it, the OS page
	// cache holds recent writes, as with Apache Kafka's defaults.
	SyncWrites bool
	// Topics are created over the Kafka protocol once the broker listens.
	// Existing topics (from DataDir) are left as they are.
	Topics []kafkatopics.Spec
	// DefaultPartitions is the number of partitions of auto-created topics
	// and of topics created without a count. 0 means 3.
	DefaultPartitions int
	// MaxMessageBytes is the broker's message.max.bytes; 0 keeps Kafka's
	// default of 1048588 bytes.
	MaxMessageBytes int
	// AutoCreateTopics lets producers and consumers create topics by naming
	// them, as auto.create.topics.enable does. Off by default: Samnav
	// creates its topics explicitly, as in production.
	AutoCreateTopics bool
	// Kafka4 limits the broker to Apache Kafka 4.0's protocol: no request
	// version newer than 4.0 serves, and none that KIP-896 removed in 4.0.
	// Tests use it to prove Samnav's clients work against Kafka 4.
	Kafka4 bool
	// Superuser, when set, turns on SASL and ACL enforcement: every client
	// must authenticate, and only Superuser bypasses ACLs (the hub's own
	// services use it; subscriber systems get users of their own through
	// AddUser and ACLs through the Kafka protocol). Its mechanism must be
	// SCRAM-SHA-512 or SCRAM-SHA-256: SCRAM keeps the password off the
	// wire of this TLS-less listener, and SCRAM users can be added at
	// runtime over the Kafka protocol. The zero value leaves the broker
	// open (no SASL, no ACLs).
	Superuser kafkaauth.Config
	// TLS, when set, serves TLS with this configuration (its certificate)
	// on the listener, for tests of clients' TLS settings. The broker's own
	// clients speak plain text, so it goes with neither Topics nor DataDir,
	// and AddUser and DeleteUser refuse to run.
	TLS *tls.Config
	// CleanerInterval is how often the broker compacts every compacted
	// topic (its log.cleaner.backoff.ms); 0 keeps kfake's default of an
	// hour. The embedded broker keeps no per-topic schedule: it stores
	// max.compaction.lag.ms and segment.ms without acting on them, treats
	// each partition's last batch as the active segment, and compacts the
	// rest on this interval. So on it, a value superseded by a later batch
	// is gone within CleanerInterval, whatever the topic says: set it to
	// the shortest max.compaction.lag.ms the hub's topics carry.
	CleanerInterval time.Duration
	// Logger receives the broker's warnings and errors, and a line per
	// failed SASL login. Nil discards the broker's own lines and logs
	// failed logins to slog.Default().
	Logger *slog.Logger
	// LoginLimits slows failed SASL logins per source address and per
	// principal, as pkg/auth slows failed token logins; the zero value
	// means auth.DefaultLoginLimits.
	LoginLimits auth.LoginLimits
	// LoginWait holds a failed login's answer back for d, or until ctx
	// ends (the broker closes); nil means a timer. Tests replace it.
	LoginWait func(ctx context.Context, d time.Duration)
	// Now is the login limiter's clock; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Addr != "" {
		host, port, err := net.SplitHostPort(c.Addr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("addr %q: must be host:port: %w", c.Addr, err))
		default:
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				errs = append(errs, fmt.Errorf("addr %q: host must be a loopback address such as 127.0.0.1 or ::1: the embedded broker is for one machine, and without SASL anyone who reaches it reads every topic", c.Addr))
			}
			if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
				errs = append(errs, fmt.Errorf("addr %q: port must be a number from 0 to 65535", c.Addr))
			}
		}
	}
	if c.DefaultPartitions < 0 {
		errs = append(errs, fmt.Errorf("default partitions: must not be negative, got %d", c.DefaultPartitions))
	}
	if c.MaxMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("max message bytes: must not be negative, got %d", c.MaxMessageBytes))
	}
	if c.CleanerInterval < 0 || c.CleanerInterval > 0 && c.CleanerInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("cleaner interval: must be 0 (the default) or at least 1ms, got %s", c.CleanerInterval))
	}
	if c.Superuser != (kafkaauth.Config{}) {
		if err := c.Superuser.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("superuser: %w", err))
		} else if c.Superuser.Mechanism != kafkaauth.ScramSHA512 && c.Superuser.Mechanism != kafkaauth.ScramSHA256 {
			errs = append(errs, fmt.Errorf("superuser: mechanism: %s is not SCRAM-SHA-512 or SCRAM-SHA-256 (users are added at runtime over SCRAM)", c.Superuser.Mechanism))
		}
	}
	if l := c.LoginLimits; l.Free < 0 || l.Base < 0 || l.Max < 0 || l.MaxWait < 0 || l.Forget < 0 || l.MaxKeys < 0 {
		errs = append(errs, fmt.Errorf("login limits: must not be negative, got %+v", l))
	}
	if c.TLS != nil && (len(c.Topics) > 0 || c.DataDir != "") {
		errs = append(errs, errors.New("tls: not with topics or a data directory (the broker's own clients speak plain text)"))
	}
	for _, t := range c.Topics {
		if err := t.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("topics: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Broker is a running embedded broker. Its methods are safe for concurrent
// use.
type Broker struct {
	cluster   *kfake.Cluster
	protocol  *protocol
	addr      string
	superuser kafkaauth.Config
	tls       bool // serves TLS: the broker's own plain-text clients cannot connect

	closeOnce sync.Once
}

// Start starts a broker and creates cfg.Topics. It returns once the broker
// accepts Kafka connections (and, with SASL, the superuser authenticates).
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("embedded kafka: invalid config: %w", err)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	b, err := start(cfg, addr, cfg.Superuser.Enabled())
	if err != nil {
		return nil, err
	}
	if cfg.Superuser.Enabled() && cfg.DataDir != "" {
		// A data directory keeps the SCRAM credentials of its last run,
		// and they replace the configured ones: a directory first used
		// without SASL has no users at all, and one used with another
		// superuser password refuses this one. Whoever owns the directory
		// owns the broker, so the configured superuser is written into it
		// (over the Kafka protocol, on a private listener without SASL)
		// and the broker started again.
		if err := b.authenticate(ctx); err != nil {
			_ = b.Close()
			if err := setSuperuser(ctx, cfg); err != nil {
				return nil, err
			}
			if b, err = start(cfg, addr, true); err != nil {
				return nil, err
			}
			if err := b.authenticate(ctx); err != nil {
				_ = b.Close()
				return nil, fmt.Errorf("embedded kafka: superuser %q: %w", cfg.Superuser.Username, err)
			}
		}
	}
	if len(cfg.Topics) > 0 {
		client, done, err := b.superuser.Client(10*time.Second, b.addr)
		if err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("embedded kafka: %w", err)
		}
		defer done()
		if err := kafkatopics.Ensure(ctx, client, cfg.Topics...); err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("embedded kafka: %w", err)
		}
	}
	return b, nil
}

// start starts kfake on addr, with SASL and ACLs when secure.
func start(cfg Config, addr string, secure bool) (*Broker, error) {
	partitions := cfg.DefaultPartitions
	if partitions == 0 {
		partitions = 3
	}
	proto := newProtocol(cfg, secure)
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("samnav-embedded"),
		kfake.DefaultNumPartitions(partitions),
		// kfake picks the port through ListenFn's address; we bind the
		// configured host and port instead of its 127.0.0.1:<random>,
		// serve TLS there when configured (kfake.TLS would wrap the
		// layer, which must read the protocol), and put the
		// Kafka-protocol layer (protocol.go) between clients and kfake.
		kfake.Ports(0),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := listenLoopback(network, addr)
			if err != nil {
				return nil, err
			}
			if cfg.TLS != nil {
				ln = tls.NewListener(ln, cfg.TLS)
			}
			return proto.listener(ln), nil
		}),
		kfake.WithLogger(slogLogger{l: cfg.Logger}),
		// Kafka's default minimum session timeout is 6s; consumer groups
		// in tests and `samnav dev` rebalance faster with a smaller one.
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}
	if secure {
		su := cfg.Superuser
		opts = append(opts, kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser(su.Mechanism, su.Username, su.Password))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if cfg.AutoCreateTopics {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	brokerConfigs := map[string]string{}
	if cfg.MaxMessageBytes > 0 {
		brokerConfigs["message.max.bytes"] = strconv.Itoa(cfg.MaxMessageBytes)
	}
	if cfg.CleanerInterval > 0 {
		brokerConfigs["log.cleaner.backoff.ms"] = strconv.FormatInt(cfg.CleanerInterval.Milliseconds(), 10)
	}
	if len(brokerConfigs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(brokerConfigs))
	}
	if cfg.Kafka4 {
		opts = append(opts, kfake.MaxVersions(kversion.V4_0_0()))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		proto.cancel()
		return nil, fmt.Errorf("embedded kafka: start on %s: %w", addr, err)
	}
	if cfg.Kafka4 {
		cluster.Control(rejectRemovedVersions(cluster))
	}
	addrs := cluster.ListenAddrs()
	if len(addrs) != 1 {
		proto.cancel()
		cluster.Close()
		return nil, fmt.Errorf("embedded kafka: expected one listener, got %v", addrs)
	}
	b := &Broker{cluster: cluster, protocol: proto, addr: addrs[0], tls: cfg.TLS != nil}
	if secure {
		b.superuser = cfg.Superuser
	}
	return b, nil
}

// listenLoopback listens on addr and refuses the listener unless it is
// bound to a loopback address: Validate allows the name "localhost",
// which the resolver (a hosts file) may map elsewhere, and the check on
// the bound socket is what keeps the broker off the network.
func listenLoopback(network, addr string) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		bound := ln.Addr().String()
		_ = ln.Close()
		return nil, fmt.Errorf("listen on %s: bound to %s, which is not a loopback address; the embedded broker listens on loopback only", addr, bound)
	}
	return ln, nil
}

// authenticate proves the superuser's credentials open a session.
func (b *Broker) authenticate(ctx context.Context) error {
	client, done, err := b.superuser.Client(5*time.Second, b.addr)
	if err != nil {
		return err
	}
	defer done()
	if _, err := client.Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	return nil
}

// setSuperuser writes cfg.Superuser's credential into cfg.DataDir through a
// broker without SASL on a free loopback port only this process knows.
func setSuperuser(ctx context.Context, cfg Config) error {
	b, err := start(cfg, "127.0.0.1:0", false)
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	client, done := kafkatopics.NewClient(5*time.Second, b.addr)
	defer done()
	su := cfg.Superuser
	if err := kafkaauth.UpsertSCRAMUser(ctx, client, su.Mechanism, su.Username, su.Password); err != nil {
		return fmt.Errorf("embedded kafka: set superuser in %s: %w", cfg.DataDir, err)
	}
	return nil
}

// Superuser returns the credentials the hub's own services connect with;
// the zero Config when the broker runs without SASL.
func (b *Broker) Superuser() kafkaauth.Config { return b.superuser }

// AddUser creates or replaces a SCRAM user (with the superuser's mechanism)
// over the Kafka protocol, and returns the credentials it connects with. The
// user may do only what ACLs allow it.
func (b *Broker) AddUser(ctx context.Context, username, password string) (kafkaauth.Config, error) {
	if !b.superuser.Enabled() {
		return kafkaauth.Config{}, fmt.Errorf("add kafka user %q: the broker runs without SASL (set Config.Superuser)", username)
	}
	if b.tls {
		return kafkaauth.Config{}, fmt.Errorf("add kafka user %q: the broker serves TLS, which its own client does not speak", username)
	}
	client, done, err := b.superuser.Client(10*time.Second, b.addr)
	if err != nil {
		return kafkaauth.Config{}, err
	}
	defer done()
	if err := kafkaauth.UpsertSCRAMUser(ctx, client, b.superuser.Mechanism, username, password); err != nil {
		return kafkaauth.Config{}, err
	}
	return kafkaauth.Config{Mechanism: b.superuser.Mechanism, Username: username, Password: password}, nil
}

// DeleteUser removes a user added with AddUser; its open connections stay
// authenticated until they close, as on Apache Kafka.
func (b *Broker) DeleteUser(ctx context.Context, username string) error {
	if !b.superuser.Enabled() {
		return fmt.Errorf("delete kafka user %q: the broker runs without SASL (set Config.Superuser)", username)
	}
	if b.tls {
		return fmt.Errorf("delete kafka user %q: the broker serves TLS, which its own client does not speak", username)
	}
	client, done, err := b.superuser.Client(10*time.Second, b.addr)
	if err != nil {
		return err
	}
	defer done()
	return kafkaauth.DeleteSCRAMUser(ctx, client, b.superuser.Mechanism, username)
}

// Addr returns the host:port clients bootstrap from.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, flushing its data directory if it has one. It is
// safe to call more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.protocol.cancel() // held-back answers to failed logins end now
		b.cluster.Close()
	})
	return nil
}

// Compact runs log compaction on every compacted topic now, rather than on
// the broker's schedule. Tests use it to observe what a compacted state topic
// keeps.
func (b *Broker) Compact() { b.cluster.Compact() }

// kafka4MinVersions holds, per request key, the oldest version Apache Kafka
// 4.0 still serves after KIP-896 (baseline: the protocol of Kafka 2.1).
// Requests absent here kept all their versions. JoinGroup v0/v1 are listed as
// removed although Kafka 4.0.1 restored them: a client that works against
// 4.0.0 works against every 4.x.
var kafka4MinVersions = map[int16]int16{
	kmsg.Produce.Int16():              3,
	kmsg.Fetch.Int16():                4,
	kmsg.ListOffsets.Int16():          1,
	kmsg.OffsetCommit.Int16():         2,
	kmsg.OffsetFetch.Int16():          1,
	kmsg.JoinGroup.Int16():            2,
	kmsg.CreateTopics.Int16():         2,
	kmsg.DeleteTopics.Int16():         1,
	kmsg.OffsetForLeaderEpoch.Int16(): 2,
	kmsg.DescribeACLs.Int16():         1,
	kmsg.CreateACLs.Int16():           1,
	kmsg.DeleteACLs.Int16():           1,
	kmsg.DescribeConfigs.Int16():      1,
	kmsg.DescribeLogDirs.Int16():      1,
}

// rejectRemovedVersions returns a control function that closes the
// connection of any client sending a request version Kafka 4.0 removed, as a
// Kafka 4.0 broker does (it cannot parse them).
func rejectRemovedVersions(c *kfake.Cluster) func(kmsg.Request) (kmsg.Response, error, bool) {
	return func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if minV, ok := kafka4MinVersions[req.Key()]; ok && req.GetVersion() < minV {
			return nil, fmt.Errorf("%s v%d was removed in Kafka 4.0 (KIP-896); oldest served is v%d",
				kmsg.NameForKey(req.Key()), req.GetVersion(), minV), true
		}
		return nil, nil, false
	}
}

// slogLogger adapts kfake's logger to slog. kfake is chatty at info level;
// only its warnings and errors are passed on.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	if s.l == nil {
		return
	}
	switch level {
	case kfake.LogLevelError:
		s.l.Error(fmt.Sprintf(msg, args...), "component", "embedded-kafka")
	case kfake.LogLevelWarn:
		s.l.Warn(fmt.Sprintf(msg, args...), "component", "embedded-kafka")
	}
}
