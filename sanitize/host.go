package sanitize

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/purell"
)

// Host label placeholders. They are valid DNS labels, so the sanitized URL
// still parses; braces are not allowed in a host.
const (
	hostUser = "_user"
	hostID   = "_id"
)

// perUserHosting lists domains where the label just left of the domain names
// a person (or their account), e.g. jdoe.github.io.
var perUserHosting = set(
	".github.io", ".gitlab.io", ".blogspot.com", ".wordpress.com", ".tumblr.com", ".substack.com",
	".medium.com", ".neocities.org", ".itch.io", ".notion.site", ".carrd.co", ".webflow.io",
	".bitbucket.io", ".sourceforge.io", ".glitch.me", ".deviantart.com", ".livejournal.com", ".wixsite.com", ".squarespace.com", ".weebly.com", ".strikingly.com",
)

// normalizeHost turns the authority's host[:port] (userinfo already removed)
// into a lower-case ASCII host with a non-default port, and templates labels
// that identify a person or an account. It never returns the input in an error.
func normalizeHost(hp, scheme string, b []byte) ([]byte, error) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return b, ErrHost
		}
		host, port = hp[:end+1], hp[end+1:]
		if port != "" {
			if port[0] != ':' {
				return b, ErrHost
			}
			port = port[1:]
		}
	} else if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i+1:]
	}
	p, err := normalizePort(port, scheme)
	if err != nil {
		return b, err
	}
	start := len(b)
	if b, err = appendHost(b, host); err != nil {
		return b[:start], err
	}
	if p != "" {
		b = append(b, ':')
		b = append(b, p...)
	}
	return b, nil
}

// normalizePort drops an empty or default port and leading zeros.
func normalizePort(port, scheme string) (string, error) {
	if port == "" {
		return "", nil
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if !isDigit(c) {
			return "", ErrPort
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return "", ErrPort
		}
	}
	switch {
	case n == 80 && (scheme == "http" || scheme == "ws"),
		n == 443 && (scheme == "https" || scheme == "wss"):
		return "", nil
	}
	return strconv.Itoa(n), nil
}

// appendHost appends the normalized host. Plain ASCII hosts take a fast
// path; others (non-ASCII, percent-encoded, full-width) go through purell's
// host normalization (width folding, NFC, IDNA to ASCII).
func appendHost(b []byte, host string) ([]byte, error) {
	if host == "" {
		return b, ErrHost
	}
	if host[0] == '[' {
		return appendIPv6(b, host)
	}
	plain := true
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(isASCIIAlnum(c) || c == '-' || c == '.' || c == '_') {
			plain = false
			break
		}
	}
	if !plain {
		h, err := slowHost(host)
		if err != nil {
			return b, err
		}
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > 253 || host[len(host)-1] == '.' {
		return b, ErrHost
	}
	if ip, ok, err := parseIPv4(host); err != nil {
		return b, err
	} else if ok {
		return ip.AppendTo(b), nil
	}
	start := len(b)
	userLabel := userLabelEnd(host)
	for i := 0; i < len(host); {
		j := strings.IndexByte(host[i:], '.')
		if j < 0 {
			j = len(host)
		} else {
			j += i
		}
		label := host[i:j]
		if label == "" || len(label) > 63 {
			return b[:start], ErrHost
		}
		if i > 0 {
			b = append(b, '.')
		}
		switch {
		case j == userLabel:
			b = append(b, hostUser...)
		case hostLabelIsID(label):
			b = append(b, hostID...)
		default:
			for k := 0; k < len(label); k++ {
				b = append(b, lower(label[k]))
			}
		}
		i = j + 1
	}
	return b, nil
}

// userLabelEnd returns the end offset of the label that names a person on a
// per-user hosting domain, or -1.
func userLabelEnd(host string) int {
	var buf [253]byte
	lh := lowerASCII(buf[:0], host)
	for i := 1; i < len(lh); i++ {
		if lh[i] == '.' && perUserHosting[lh[i:]] {
			return i
		}
	}
	return -1
}

// hostLabelIsID reports a host label that is an identifier: a UUID, a run of
// 6+ digits, or a 16+ character alphanumeric run that mixes digits in.
func hostLabelIsID(label string) bool {
	if strings.HasPrefix(label, "xn--") || label == hostID || label == hostUser {
		return false
	}
	if isUUID(label) {
		return true
	}
	start, digitRun := 0, 0
	for i := 0; i <= len(label); i++ {
		if i < len(label) && isASCIIAlnum(label[i]) {
			if isDigit(label[i]) {
				digitRun++
				if digitRun >= 6 {
					return true
				}
			} else {
				digitRun = 0
			}
			continue
		}
		if isTokenRun(label[start:i]) {
			return true
		}
		start, digitRun = i+1, 0
	}
	return false
}

// slowHost percent-decodes the host and lets purell fold width, apply NFC
// and convert IDNA labels to ASCII. The result must be a plain ASCII host.
func slowHost(host string) (string, error) {
	if strings.IndexByte(host, '%') >= 0 {
		d, ok := percentDecode(host, false)
		if !ok {
			return "", ErrHost
		}
		host = d
	}
	for i := 0; i < len(host); i++ {
		switch c := host[i]; c {
		case '/', '\\', '?', '#', '@', ':', '[', ']', '<', '>', '^', '|', '%', ' ', '"', '{', '}', '`':
			return "", ErrHost
		default:
			if c < 0x20 || c == 0x7f {
				return "", ErrHost
			}
		}
	}
	n, err := purell.NormalizeURLString("http://"+host, purell.FlagLowercaseHost)
	if err != nil {
		return "", ErrHost
	}
	h := strings.TrimPrefix(n, "http://")
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isASCIIAlnum(c) || c == '-' || c == '.' || c == '_') {
			return "", ErrHost
		}
	}
	return strings.ToLower(h), nil
}

// appendIPv6 appends a bracketed IPv6 address in its canonical form. A zone
// id is dropped: it names a local interface, not the destination.
func appendIPv6(b []byte, host string) ([]byte, error) {
	in := host[1 : len(host)-1]
	if i := strings.IndexByte(in, '%'); i >= 0 {
		in = in[:i]
	}
	ip, err := netip.ParseAddr(in)
	if err != nil || !ip.Is6() {
		return b, ErrHost
	}
	b = append(b, '[')
	b = ip.AppendTo(b)
	return append(b, ']'), nil
}

// parseIPv4 parses a host the way the WHATWG URL parser does when its last
// label is numeric (decimal, octal with a leading 0, hex with 0x), so
// http://3232235777/ and http://0xC0.0250.1.1/ become 192.168.1.1.
func parseIPv4(host string) (netip.Addr, bool, error) {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if !isIPv4Number(last) {
		return netip.Addr{}, false, nil
	}
	var parts [4]uint64
	n := 0
	for _, p := range strings.Split(host, ".") {
		if n == 4 {
			return netip.Addr{}, false, ErrHost
		}
		v, ok := ipv4Number(p)
		if !ok {
			return netip.Addr{}, false, ErrHost
		}
		parts[n] = v
		n++
	}
	for i := 0; i < n-1; i++ {
		if parts[i] > 255 {
			return netip.Addr{}, false, ErrHost
		}
	}
	if parts[n-1] >= 1<<(8*(5-n)) {
		return netip.Addr{}, false, ErrHost
	}
	v := parts[n-1]
	for i := 0; i < n-1; i++ {
		v |= parts[i] << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, nil
}

func isIPv4Number(p string) bool {
	if p == "" {
		return false
	}
	if len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') {
		for i := 2; i < len(p); i++ {
			if !isHex(p[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
	}
	return true
}

func ipv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	v, err := strconv.ParseUint(p, base, 64)
	if err != nil || v > 1<<32 {
		return 0, false
	}
	return v, true
}
