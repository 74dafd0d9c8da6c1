package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Address rules: the field rule of the *apierr.Error that refuses a webhook URL.
const (
	RuleScheme      = "scheme"
	RuleHost        = "host"
	RuleUserinfo    = "userinfo"
	RuleResolve     = "resolve"
	RuleUnspecified = "unspecified"
	RuleLoopback    = "loopback"
	RuleMetadata    = "metadata"
	RuleLinkLocal   = "link_local"
	RulePrivate     = "private"
	RuleMulticast   = "multicast"
	RuleReserved    = "reserved"
)

// rangeRule is one block of addresses a webhook may not reach by default.
// The order matters: the first match names the rule, so the metadata
// addresses come before the link-local block that holds them.
type rangeRule struct {
	prefix netip.Prefix
	rule   string
}

var denied = func() []rangeRule {
	var rs []rangeRule
	add := func(rule string, cidrs ...string) {
		for _, c := range cidrs {
			rs = append(rs, rangeRule{netip.MustParsePrefix(c), rule})
		}
	}
	// Cloud instance metadata services (AWS, GCP, Azure, OpenStack on
	// 169.254.169.254; AWS IPv6; Alibaba).
	add(RuleMetadata, "169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32")
	add(RuleUnspecified, "0.0.0.0/8", "::/128")
	add(RuleLoopback, "127.0.0.0/8", "::1/128")
	add(RuleLinkLocal, "169.254.0.0/16", "fe80::/10")
	// RFC 1918, RFC 6598 shared address space, RFC 4193 unique local.
	add(RulePrivate, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
	add(RuleMulticast, "224.0.0.0/4", "ff00::/8")
	// IETF protocol assignments, benchmarking, the old class E and the
	// limited broadcast address: never a receiver.
	add(RuleReserved, "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4")
	return rs
}()

// privateRules are the rules AddressPolicy.AllowPrivate waives. The others
// (metadata, unspecified, multicast, reserved) only an explicit Allow
// prefix opens.
var privateRules = map[string]bool{RuleLoopback: true, RuleLinkLocal: true, RulePrivate: true}

// Resolver looks up the addresses of a host name. *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// AddressPolicy decides which addresses webhooks may be sent to. The zero
// value allows only public unicast addresses, resolved with
// net.DefaultResolver. It is applied when an endpoint is registered and
// again on every connection, to the address actually dialled, so a name
// that later resolves to an internal address (DNS rebinding) is refused.
type AddressPolicy struct {
	// AllowPrivate opens loopback, link-local and private (RFC 1918, RFC
	// 6598, fc00::/7) addresses: for tests and on-premises receivers. It
	// does not open metadata, unspecified, multicast or reserved ones.
	AllowPrivate bool
	// Allow lists prefixes that are allowed whatever rule they break.
	Allow []netip.Prefix
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
}

func (p *AddressPolicy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// IPv6 forms that carry an IPv4 address a translator or tunnel forwards
// to: a packet to 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a
// NAT64 gateway, one to 2002:7f00:1:: reaches 127.0.0.1 through a 6to4
// relay. Each names where the IPv4 address sits in the 16 bytes.
var embedding = []struct {
	prefix netip.Prefix
	at     int // the first of the four bytes of the IPv4 address
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12},    // NAT64 well-known prefix (RFC 6052)
	{netip.MustParsePrefix("64:ff9b:1::/48"), 12},  // NAT64 local-use prefix (RFC 8215), its /96 form
	{netip.MustParsePrefix("::ffff:0:0:0/96"), 12}, // SIIT IPv4-translated (RFC 7915)
	{netip.MustParsePrefix("2002::/16"), 2},        // 6to4 (RFC 3056)
	{netip.MustParsePrefix("::/96"), 12},           // IPv4-compatible, deprecated (RFC 4291)
}

// embeddedIPv4 returns the IPv4 address an IPv6 address a carries in one
// of the forms above.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	for _, e := range embedding {
		if e.prefix.Contains(a) {
			return netip.AddrFrom4([4]byte(b[e.at : e.at+4])), true
		}
	}
	return netip.Addr{}, false
}

// CheckAddr returns nil if a may be dialled, and otherwise an invalid
// *apierr.Error with one field problem, "url" and the broken rule,
// wrapping ErrDisallowedAddress. An IPv6 address that carries an IPv4
// address (IPv4-mapped, NAT64, 6to4, IPv4-compatible) is judged by the
// IPv4 address too: the stricter verdict wins.
func (p *AddressPolicy) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, pre := range p.Allow {
		if pre.Contains(a) {
			return nil
		}
	}
	if err := p.checkRules(a, a); err != nil {
		return err
	}
	if v4, ok := embeddedIPv4(a); ok {
		return p.checkRules(a, v4)
	}
	return nil
}

// checkRules checks one address, as, against the denied ranges; a is the
// address the error names.
func (p *AddressPolicy) checkRules(a, as netip.Addr) error {
	for _, r := range denied {
		if !r.prefix.Contains(as) {
			continue
		}
		if p.AllowPrivate && privateRules[r.rule] {
			return nil
		}
		what := a.String()
		if as != a {
			what += " (carrying " + as.String() + ")"
		}
		return invalidf("url", r.rule, "address %s is %s; webhooks are not delivered there unless configuration allows it", what, strings.ReplaceAll(r.rule, "_", "-")).
			Wrap(ErrDisallowedAddress)
	}
	return nil
}

// CheckURL validates a webhook URL: http or https, a host, no user
// information, and every address the host resolves to allowed by p.
// It returns the parsed URL.
func (p *AddressPolicy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalidf("url", "url", "the URL does not parse").Wrap(err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalidf("url", RuleScheme, "the URL scheme must be http or https, not %q", u.Scheme)
	}
	if u.User != nil {
		return nil, invalidf("url", RuleUserinfo, "the URL must not carry user information; authenticate receivers by signature")
	}
	host := u.Hostname()
	if host == "" {
		return nil, invalidf("url", RuleHost, "the URL has no host")
	}
	if _, err := p.lookup(ctx, host); err != nil {
		return nil, err
	}
	return u, nil
}

// lookup resolves host (or parses it, when it is an address) and checks
// every address it names against p: all must be allowed.
func (p *AddressPolicy) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// resolve resolves host, or parses it when it is an address.
func (p *AddressPolicy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, invalidf("url", RuleResolve, "host %q does not resolve", host).Wrap(err)
	}
	if len(addrs) == 0 {
		return nil, invalidf("url", RuleResolve, "host %q has no addresses", host)
	}
	return addrs, nil
}

// dialer returns a DialContext that resolves with p's resolver, refuses
// the connection if any resolved address breaks p, and checks the address
// of the socket itself in Control before connect, so no packet leaves for
// a refused address.
func (p *AddressPolicy) dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("check dialled address %q: %w", address, err)
			}
			return p.CheckAddr(ap.Addr())
		},
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("split address %q: %w", addr, err)
		}
		addrs, err := p.lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		var errs []error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		return nil, fmt.Errorf("dial %s: %w", addr, errors.Join(errs...))
	}
}
