package notify

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vidgen/vidgen/internal/clock"
)

func TestCheckURL(t *testing.T) {
	refusedInAWS := []string{
		"http://hooks.example.com/",
		"https://127.0.0.1/",
		"https://127.8.9.10:8443/",
		"https://10.1.2.3/",
		"https://172.16.0.1/",
		"https://192.168.1.1/",
		"https://100.64.0.1/",      // carrier-grade NAT
		"https://100.127.255.254/", // its end
		"https://169.254.1.1/",
		"https://0.0.0.0/",
		"https://0.1.2.3/",
		"https://224.0.0.1/",
		"https://255.255.255.255/",
		"https://198.18.0.1/",
		"https://240.0.0.1/",
		"https://[::1]/",
		"https://[::]/",
		"https://[fc00::1]/",
		"https://[fd12:3456::1]/",
		"https://[fe80::1]/",
		"https://[fe80::1%25eth0]/",
		"https://[ff02::1]/",
		"https://[::ffff:10.0.0.1]/",  // IPv4-mapped private
		"https://[::ffff:127.0.0.1]/", // IPv4-mapped loopback
		"https://[::ffff:169.254.169.254]/",
		"https://[::a00:1]/",            // IPv4-compatible
		"https://[64:ff9b::a00:1]/",     // NAT64 of 10.0.0.1
		"https://[2002:a00:1::1]/",      // 6to4 of 10.0.0.1
		"https://[2001:db8::1]/",        // documentation
		"https://[2001:0:4136:e378::]/", // Teredo
		"https://localhost/",
		"https://LOCALHOST./hook",
		"https://api.localhost/",
	}
	refusedEverywhere := []string{
		"https://169.254.169.254/latest/meta-data/",
		"http://169.254.169.254/",
		"https://[fd00:ec2::254]/",
		"https://169.254.170.2/v2/credentials",
		"https://[::ffff:169.254.169.254]/",
		"ftp://hooks.example.com/",
		"file:///etc/passwd",
		"javascript:alert(1)",
		"mailto:ops@example.com",
		"/relative/path",
		"hooks.example.com/path",
		"https://",
		"https:///path",
		"https://user:pw@hooks.example.com/",
		"https://token@hooks.example.com/",
		"https://hooks.example.com:0/",
		"https://hooks.example.com:65536/",
		"https://2130706433/", // 127.0.0.1 as one number
		"https://0x7f.1/",
		"https://127.1/",
		"https://hooks.example.com/" + strings.Repeat("a", MaxURLLength),
		"https://hooks.example.com/\x7f",
	}
	allowedEverywhere := []string{
		"https://hooks.example.com/vidgen",
		"https://HOOKS.example.com:8443/x?tenant=a&sig=b#frag",
		"https://hooks.example.com./",
		"https://93.184.216.34/",
		"https://[2606:4700:4700::1111]/",
		"https://[64:ff9b::5db8:d822]/", // NAT64 of 93.184.216.34
		"https://xn--bcher-kva.example/",
	}
	allowedLocally := []string{
		"http://127.0.0.1:3000/hook",
		"http://localhost:8080/",
		"https://10.1.2.3/",
		"http://[::1]:9000/",
		"https://[fd12::1]/",
		"http://192.168.1.20/",
	}
	check := func(raw string, allowPrivate, wantOK bool) {
		t.Helper()
		err := CheckURL(raw, allowPrivate)
		switch {
		case wantOK && err != nil:
			t.Errorf("CheckURL(%q, allowPrivate=%v) = %v, want nil", raw, allowPrivate, err)
		case !wantOK && !errors.Is(err, ErrDestination):
			t.Errorf("CheckURL(%q, allowPrivate=%v) = %v, want ErrDestination", raw, allowPrivate, err)
		}
	}
	for _, u := range refusedInAWS {
		check(u, false, false)
	}
	for _, u := range refusedEverywhere {
		check(u, false, false)
		check(u, true, false)
	}
	for _, u := range allowedEverywhere {
		check(u, false, true)
		check(u, true, true)
	}
	for _, u := range allowedLocally {
		check(u, false, false)
		check(u, true, true)
	}
	if err := (DestinationGuard{}).CheckURL("http://hooks.example.com/"); err == nil || err.Error() != "webhook destination not allowed: must use https" {
		t.Errorf("error %v, want one fit for a field error", err)
	}
}

// The dial-time check sees the address actually connected to.
func TestGuardControl(t *testing.T) {
	aws, local := DestinationGuard{}, DestinationGuard{AllowPrivate: true}
	for _, tc := range []struct {
		network, address string
		awsOK, localOK   bool
	}{
		{"tcp4", "93.184.216.34:443", true, true},
		{"tcp6", "[2606:4700:4700::1111]:443", true, true},
		{"tcp4", "127.0.0.1:443", false, true},
		{"tcp4", "10.0.0.7:443", false, true},
		{"tcp4", "100.100.100.100:443", false, true},
		{"tcp6", "[::1]:443", false, true},
		{"tcp6", "[fd00::1]:443", false, true},
		{"tcp6", "[fe80::1%eth0]:443", false, true},
		{"tcp6", "[::ffff:192.168.0.1]:443", false, true},
		{"tcp4", "0.0.0.0:443", false, true},
		{"tcp4", "169.254.169.254:80", false, false},
		{"tcp6", "[fd00:ec2::254]:80", false, false},
		{"udp4", "93.184.216.34:53", false, false},
		{"tcp4", "not-an-address", false, false},
	} {
		if err := aws.control(tc.network, tc.address, nil); (err == nil) != tc.awsOK || err != nil && !errors.Is(err, ErrDestination) {
			t.Errorf("AWS mode: control(%s, %s) = %v, want allowed %v", tc.network, tc.address, err, tc.awsOK)
		}
		if err := local.control(tc.network, tc.address, nil); (err == nil) != tc.localOK {
			t.Errorf("local mode: control(%s, %s) = %v, want allowed %v", tc.network, tc.address, err, tc.localOK)
		}
	}
}

// fakeDNS is a resolver whose server answers every A query with ip, as a
// hostile DNS server rebinding a public-looking name would, and every
// other query with no records. It speaks DNS over an in-memory stream, so
// no network is needed.
func fakeDNS(ip netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, ip)
			return client, nil
		},
	}
}

// serveDNS answers length-prefixed DNS queries (RFC 1035 §4.2.2) on c.
func serveDNS(c net.Conn, ip netip.Addr) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := dnsAnswer(q, ip)
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}

// dnsAnswer builds the response to the one-question query q.
func dnsAnswer(q []byte, ip netip.Addr) []byte {
	i := 12 // the question's name starts after the header
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	answers := uint16(0)
	if qtype == 1 { // A
		answers = 1
	}
	r := append([]byte{}, q[:2]...) // the query's id
	r = append(r, 0x81, 0x80)       // a response, recursion desired and available, no error
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint16(r, answers)
	r = append(r, 0, 0, 0, 0) // no authority or additional records
	r = append(r, question...)
	if answers == 1 {
		a := ip.As4()
		// Name: pointer to the question's; type A; class IN; TTL 60; 4 bytes.
		r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		r = append(r, a[:]...)
	}
	return r
}

// A name that passes the up-front check but resolves to loopback (DNS
// rebinding) is refused when dialing, before any request is sent.
func TestGuardRefusesRebindingAtDial(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rebind := fakeDNS(netip.MustParseAddr("127.0.0.1"))

	// The fake DNS does resolve the name: in local mode the request arrives.
	local := &Sender{Clock: clock.NewManual(t0), Guard: DestinationGuard{AllowPrivate: true, Resolver: rebind}}
	if err := local.Deliver(t.Context(), "http://hooks.rebind.example:"+port+"/", testSecret, "msg_1", []byte(`{}`)); err != nil {
		t.Fatalf("local mode: Deliver = %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("local mode: receiver got %d requests, want 1", hits.Load())
	}

	u := "https://hooks.rebind.example:" + port + "/"
	if err := CheckURL(u, false); err != nil {
		t.Fatalf("CheckURL(%s) = %v; the name looks public, so only dialing can tell", u, err)
	}
	s := &Sender{Clock: clock.NewManual(t0), Guard: DestinationGuard{Resolver: rebind}}
	err = s.Deliver(t.Context(), u, testSecret, "msg_1", []byte(`{}`))
	var de *DeliveryError
	if !errors.As(err, &de) || de.Retryable || !errors.Is(err, ErrDestination) {
		t.Fatalf("AWS mode: Deliver = %v, want a non-retryable ErrDestination", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q does not name the refused address", err)
	}
	if hits.Load() != 1 {
		t.Errorf("AWS mode: the receiver got a request")
	}
}

// The guard's client checks at dial time whatever URL it is given, here
// "localhost", which the system resolver maps to loopback.
func TestGuardClientRefusesLocalhost(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	resp, err := DestinationGuard{}.Client().Get("http://localhost:" + port + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("AWS-mode client reached localhost")
	}
	if !errors.Is(err, ErrDestination) {
		t.Errorf("Get = %v, want ErrDestination", err)
	}
	if hits.Load() != 0 {
		t.Error("the receiver got a request")
	}

	resp, err = DestinationGuard{AllowPrivate: true}.Client().Get("http://localhost:" + port + "/")
	if err != nil {
		t.Fatalf("local-mode client: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Errorf("local mode: receiver got %d requests, want 1", hits.Load())
	}
}

// A proxy from the environment would hide the destination from the dial
// check, so the guard's transport uses none.
func TestGuardTransportUsesNoProxy(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://93.184.216.34:3128")
	t.Setenv("HTTP_PROXY", "http://93.184.216.34:3128")
	if tr := (DestinationGuard{}).Transport(); tr.Proxy != nil {
		t.Error("the guard's transport has a proxy")
	}
}
