package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrDestination means a webhook URL or the address it resolved to is not
// one vidgen may call. Its text, with the reason after it, is fit for a
// client: "webhook destination not allowed: must use https".
var ErrDestination = errors.New("webhook destination not allowed")

// MaxURLLength bounds a webhook URL, like the request's other URLs.
const MaxURLLength = 2048

// DestinationGuard keeps webhooks from reaching vidgen's own network. A
// tenant chooses the URL, so without it a webhook could POST to the cloud
// metadata service or to any service inside the VPC (server-side request
// forgery).
//
// Checking a URL's host before sending is not enough: DNS can answer a
// public address to the check and a private one to the connection (DNS
// rebinding). So the guard also checks, at dial time, the very address each
// connection is about to be made to; see Transport.
type DestinationGuard struct {
	// AllowPrivate permits http URLs and private, loopback and link-local
	// destinations. It is for local mode only, where the receiver is on the
	// same machine. The metadata addresses stay refused even then.
	AllowPrivate bool
	// Resolver resolves names when dialing; nil is net.DefaultResolver.
	// Whatever it answers, the dial-time check sees the address.
	Resolver *net.Resolver
}

// CheckURL reports whether raw may be used as a webhook URL, without
// resolving it. See the package function CheckURL.
func (g DestinationGuard) CheckURL(raw string) error { return CheckURL(raw, g.AllowPrivate) }

// CheckURL reports whether raw may be used as a webhook URL: an absolute
// https URL (http too when allowPrivate) without credentials, whose host is
// a name or a public address. It does not resolve names (what a name
// resolves to when vidgen sends is what matters, and the dial-time check
// sees that), but it refuses names that always mean this machine. The API
// calls it to reject a bad callback_url with a field error; the error
// wraps ErrDestination.
func CheckURL(raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return refuse("must be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || !u.IsAbs() {
		return refuse("must be an absolute URL")
	}
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "https":
	case scheme == "http" && allowPrivate:
	default:
		return refuse("must use https")
	}
	if u.User != nil {
		return refuse("must not hold credentials")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return refuse("has an invalid port")
		}
	}
	host := u.Hostname()
	if host == "" {
		return refuse("has no host")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return checkAddr(addr, allowPrivate)
	}
	if strings.Contains(host, "%") || strings.Contains(host, ":") {
		return refuse("has an invalid host")
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	labels := strings.Split(name, ".")
	// A final label of digits or hex ("2130706433", "0x7f.1") is an IPv4
	// address in a form some resolvers accept; no real name ends so.
	if last := labels[len(labels)-1]; last == "" || isNumeric(last) || strings.HasPrefix(last, "0x") {
		return refuse("has an invalid host")
	}
	if !allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return refuse("must not be this machine")
	}
	return nil
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDestination, fmt.Sprintf(format, args...))
}

// metadataAddrs are the cloud instance and container metadata services,
// which hand out credentials; they are refused in every mode.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // EC2 (and most clouds) IMDS
	netip.MustParseAddr("fd00:ec2::254"),   // EC2 IMDS over IPv6
	netip.MustParseAddr("169.254.170.2"),   // ECS and Lambda-style container credentials
}

// nonPublic are special-purpose ranges that netip's IsPrivate and
// IsGlobalUnicast do not already exclude (RFC 6890 and its updates).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, used inside clouds
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments, Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Prefixes whose addresses carry an IPv4 address that a translator will
// connect to; that address must be allowed too.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// checkAddr reports whether a webhook may connect to addr.
func checkAddr(addr netip.Addr, allowPrivate bool) error {
	a := addr.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, m := range metadataAddrs {
		if a.WithZone("") == m {
			return refuse("%s is a metadata service", addr)
		}
	}
	if allowPrivate {
		return nil
	}
	if a.Zone() != "" || !a.IsGlobalUnicast() || a.IsPrivate() {
		return refuse("%s is not a public address", addr)
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return refuse("%s is not a public address", addr)
		}
	}
	var embedded [4]byte
	switch b := a.As16(); {
	case nat64.Contains(a):
		copy(embedded[:], b[12:16])
	case sixTo4.Contains(a):
		copy(embedded[:], b[2:6])
	default:
		return nil
	}
	if err := checkAddr(netip.AddrFrom4(embedded), false); err != nil {
		return refuse("%s embeds %s, not a public address", addr, netip.AddrFrom4(embedded))
	}
	return nil
}

// control is a net.Dialer Control hook: it runs after name resolution and
// before connecting, with the address about to be connected to.
func (g DestinationGuard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return refuse("network %s", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse("cannot parse dial address %q", address)
	}
	return checkAddr(ap.Addr(), g.AllowPrivate)
}

// Transport returns an HTTP transport whose every connection passes the
// guard at dial time. It uses no proxy: through a proxy the dial check
// would see the proxy's address, not the destination's.
func (g DestinationGuard) Transport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: g.Resolver, Control: g.control}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Client returns an HTTP client over Transport that does not follow
// redirects: a redirect could lead from https to http, and Standard
// Webhooks counts a 3xx as a failed delivery anyway.
func (g DestinationGuard) Client() *http.Client {
	return &http.Client{
		Transport: g.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
