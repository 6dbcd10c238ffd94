package loadgen

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// App is a web application the generated traffic targets: its server id
// (sent as each event's "application"; 0 leaves it out) and its URL
// patterns in the CONTRACT form host/path, host optionally "*."-prefixed,
// path optionally ending in "*".
type App struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Patterns []string `json:"patterns"`
}

// Device is one simulated endpoint: the identity and network context its
// batches carry. Every field is derived from the fleet seed and the device
// index, so the same seed always yields the same fleet.
type Device struct {
	ID       string
	Name     string
	User     string
	UPN      string
	Browser  string
	Version  string
	LocalIP  netip.Addr
	PublicIP netip.Addr
	header   []byte // the batch body up to and including `"events":`
}

// Batch is one POST /api/v1/events body of a device and the ids of its
// events, in order.
type Batch struct {
	Device int
	Seq    int
	IDs    []string
	Body   []byte
}

// Fleet generates the traffic of a set of devices deterministically: the
// batch number seq of device d is the same bytes for the same seed, epoch,
// apps and batch size, so a run can be replayed exactly. Event ids are
// random-looking version-4 UUIDs, distinct across devices and batches.
// A Fleet is immutable and safe for concurrent use.
type Fleet struct {
	seed      uint64
	epoch     time.Time
	batchSize int
	apps      []App
	devices   []Device
}

// NewFleet builds n devices whose events target apps.
//
// Event times follow the way extensions report: batches are flushed in
// rounds (round = seq·n + d), round r nominally at epoch − 24 h + r·2 ms
// (never later than epoch), and each event is an interval of 1 s … 10 min
// that ended up to 2 minutes before its batch's flush; one event in 50 is
// a late one from up to 22 h earlier (a device that was offline). So times
// advance with the run, mostly in order, and every interval ends by epoch:
// a server whose clock is at or after epoch accepts them all.
func NewFleet(seed uint64, n, batchSize int, apps []App, epoch time.Time) (*Fleet, error) {
	if n <= 0 {
		return nil, fmt.Errorf("loadgen: fleet needs at least one device, got %d", n)
	}
	if batchSize <= 0 || batchSize > 1000 {
		return nil, fmt.Errorf("loadgen: batch size %d out of range 1..1000", batchSize)
	}
	if len(apps) == 0 {
		return nil, fmt.Errorf("loadgen: fleet needs at least one application")
	}
	for _, a := range apps {
		if len(a.Patterns) == 0 {
			return nil, fmt.Errorf("loadgen: application %q has no pattern", a.Name)
		}
	}
	f := &Fleet{seed: seed, epoch: epoch.UTC(), batchSize: batchSize, apps: apps, devices: make([]Device, n)}
	for i := range f.devices {
		d, err := f.newDevice(i)
		if err != nil {
			return nil, err
		}
		f.devices[i] = d
	}
	return f, nil
}

// Len is the number of devices.
func (f *Fleet) Len() int { return len(f.devices) }

// Device returns device i (0 ≤ i < Len()).
func (f *Fleet) Device(i int) Device { return f.devices[i] }

// rng returns the random stream of (device, stream): independent streams
// for every pair under one seed.
func (f *Fleet) rng(device int, stream uint64) *rand.Rand {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[0:], f.seed)
	binary.LittleEndian.PutUint64(s[8:], uint64(device))
	binary.LittleEndian.PutUint64(s[16:], stream)
	copy(s[24:], "wu-loadg")
	return rand.New(rand.NewChaCha8(s))
}

const deviceStream = ^uint64(0)

// roundStep is the nominal time between two rounds of batches.
const roundStep = 2 * time.Millisecond

var browsers = []struct{ name, version string }{
	{"chrome", "156.0.7410.88"}, {"chrome", "155.0.7390.122"}, {"edge", "156.0.3400.55"},
	{"firefox", "148.0.2"}, {"chrome", "156.0.7410.88"}, {"edge", "155.0.3340.80"},
}

var namePrefixes = []string{"LAP", "LAP", "DESK", "VDI"}

func (f *Fleet) newDevice(i int) (Device, error) {
	r := f.rng(i, deviceStream)
	b := browsers[r.IntN(len(browsers))]
	d := Device{
		ID:       uuid4(r),
		Name:     fmt.Sprintf("%s-%05d", namePrefixes[r.IntN(len(namePrefixes))], i),
		User:     fmt.Sprintf("user%05d", i),
		Browser:  b.name,
		Version:  b.version,
		LocalIP:  netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))}),
		PublicIP: publicIPv4(r),
	}
	d.UPN = d.User + "@corp.example"
	head := struct {
		Device  any `json:"device"`
		User    any `json:"user"`
		Browser any `json:"browser"`
	}{
		Device: struct {
			ID       string   `json:"id"`
			Name     string   `json:"name"`
			LocalIPs []string `json:"local_ips"`
		}{d.ID, d.Name, []string{d.LocalIP.String()}},
		User: struct {
			Name string `json:"name"`
			UPN  string `json:"upn"`
		}{d.User, d.UPN},
		Browser: struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}{d.Browser, d.Version},
	}
	h, err := json.Marshal(head)
	if err != nil {
		return Device{}, fmt.Errorf("loadgen: encode device: %w", err)
	}
	d.header = append(h[:len(h)-1], `,"events":`...)
	return d, nil
}

// event is one usage interval as the extension sends it.
type event struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	URL         string `json:"url"`
	Start       string `json:"start"`
	DurationMS  int64  `json:"duration_ms"`
	Application int64  `json:"application,omitempty"`
}

// Batch returns batch number seq of device d. It panics if d is out of range.
func (f *Fleet) Batch(d, seq int) Batch {
	dev := &f.devices[d]
	r := f.rng(d, uint64(seq))
	events := make([]event, f.batchSize)
	ids := make([]string, f.batchSize)
	round := time.Duration(seq)*time.Duration(len(f.devices)) + time.Duration(d)
	flush := f.epoch.Add(-24 * time.Hour)
	if round < 24*time.Hour/roundStep {
		flush = flush.Add(round * roundStep)
	} else {
		flush = f.epoch
	}
	for i := range events {
		app := f.apps[r.IntN(len(f.apps))]
		dur := 1000 + r.Int64N(10*60*1000) // 1 s … 10 min of focused use
		back := time.Duration(dur)*time.Millisecond + time.Duration(r.Int64N(int64(2*time.Minute)))
		if r.IntN(50) == 0 {
			back += time.Duration(r.Int64N(int64(22 * time.Hour)))
		}
		ids[i] = uuid4(r)
		events[i] = event{
			ID:          ids[i],
			Type:        "usage",
			URL:         appURL(r, app.Patterns[r.IntN(len(app.Patterns))]),
			Start:       flush.Add(-back).Format("2006-01-02T15:04:05.000Z07:00"),
			DurationMS:  dur,
			Application: app.ID,
		}
	}
	ev, err := json.Marshal(events)
	if err != nil {
		panic("loadgen: encode events: " + err.Error()) // plain structs of strings and ints cannot fail
	}
	body := make([]byte, 0, len(dev.header)+len(ev)+1)
	body = append(append(append(body, dev.header...), ev...), '}')
	return Batch{Device: d, Seq: seq, IDs: ids, Body: body}
}

// uuid4 formats 16 bytes of r as a version-4 UUID.
func uuid4(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:16])
	return string(s[:])
}

// notPublic lists the IPv4 ranges that are not globally routable unicast.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("224.0.0.0/3"),
}

// publicIPv4 draws a globally routable unicast IPv4 address.
func publicIPv4(r *rand.Rand) netip.Addr {
	for {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], r.Uint32())
		a := netip.AddrFrom4(b)
		if isPublic(a) {
			return a
		}
	}
}

func isPublic(a netip.Addr) bool {
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var (
	subdomains = []string{"", "www.", "eu.", "app.", "eu-west.app."}
	words      = []string{"pipeline", "renewal", "invoice", "onboarding", "q3 forecast", "roadmap", "vpn", "laptop"}
	// pathTemplates are the tails of realistic application URLs; %d is a
	// record number, %s a word, %x a session-like secret a sanitizer must strip.
	pathTemplates = []string{
		"", "dashboard", "home?tab=%s",
		"accounts/%d", "accounts/%d/edit", "accounts/%d/contacts?page=%d",
		"tickets/%d#comments", "reports/%s?from=2026-10-01&to=2026-10-31",
		"search?q=%s&sort=recent", "api/v2/items/%d?include=owner",
		"login?next=%%2Fhome&session=%x", "reset-password?token=%x&email=user%d%%40corp.example",
		"docs/%s/page-%d", "static/app.%x.js",
	}
)

// appURL returns a realistic URL that pattern covers.
func appURL(r *rand.Rand, pattern string) string {
	host, path, _ := strings.Cut(pattern, "/")
	if base, ok := strings.CutPrefix(host, "*."); ok {
		host = subdomains[r.IntN(len(subdomains))] + base
	}
	scheme := "https://"
	if r.IntN(10) == 0 {
		scheme = "http://"
	}
	if r.IntN(20) == 0 {
		host += ":8443"
	}
	prefix, wild := strings.CutSuffix(path, "*")
	if !wild {
		return scheme + host + "/" + path
	}
	return scheme + host + "/" + prefix + tail(r, pathTemplates[r.IntN(len(pathTemplates))])
}

// tail fills the verbs of one path template from r.
func tail(r *rand.Rand, tmpl string) string {
	buf := make([]byte, 0, 2*len(tmpl)+16)
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '%' || i+1 == len(tmpl) {
			buf = append(buf, c)
			continue
		}
		i++
		switch tmpl[i] {
		case 'd':
			buf = strconv.AppendInt(buf, int64(1+r.IntN(99999)), 10)
		case 's':
			buf = append(buf, strings.ReplaceAll(words[r.IntN(len(words))], " ", "+")...)
		case 'x':
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], r.Uint64())
			buf = hex.AppendEncode(buf, b[:])
		default:
			buf = append(buf, tmpl[i])
		}
	}
	return string(buf)
}
