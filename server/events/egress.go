package events

import (
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// privateAddressError refuses a connection to an address of this host or
// of a private network.
type privateAddressError struct{ addr netip.Addr }

func (e *privateAddressError) Error() string {
	return "the receiver resolves to a loopback, private or link-local address, which webhooks may not reach unless the server allows it"
}

// publicOnly refuses to connect to loopback, private, link-local,
// unspecified and multicast addresses, after name resolution, so neither a
// URL nor a DNS answer turns a webhook against the network meshplane runs in.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &privateAddressError{}
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsInterfaceLocalMulticast() || cgnat.Contains(a) {
		return &privateAddressError{addr: a}
	}
	return nil
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// newClient returns the HTTP client deliveries go out with: no proxy from
// the environment, no redirects, and unless allowPrivate only public
// addresses.
func newClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = publicOnly
	}
	return &http.Client{Transport: &http.Transport{
		DialContext: d.DialContext, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 5 * time.Second,
	}}
}
