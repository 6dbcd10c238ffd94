package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// IngestEvent is one validated event, with the storage privacy policy already
// applied: empty URL/Template mean "not stored".
type IngestEvent struct {
	ID               [16]byte
	AppID            int64
	StartMs          int64
	DurationMs       int64
	URL              string
	Template         string
	Host             string
	SanitizerVersion string
	Entity           string
	LocationType     string
	Site             string
	VPN              bool
	LocationRule     string
	CountryCode      string
	Country          string
	State            string
	City             string
	Latitude         *float64
	Longitude        *float64
}

// DeviceInfo is what one request says about its device, policy applied.
type DeviceInfo struct {
	ExternalID   string
	Name         string   // empty when not stored
	PublicIP     string   // empty when unknown
	LocalIPs     []string // empty when not stored
	Entity       string
	LocationType string
	Site         string
	CountryCode  string
	Country      string
	State        string
	City         string
}

// UserInfo is the user as stored: the name is already clear or pseudonymized
// by the storage policy; UPN is empty unless collected.
type UserInfo struct {
	Name string
	UPN  string
}

// IngestBatch is the events of one request, from one device and user.
type IngestBatch struct {
	Device         DeviceInfo
	User           *UserInfo // nil when user names are not collected
	Browser        string
	BrowserVersion string
	Events         []IngestEvent
}

// IngestResult counts what a batch did once committed.
type IngestResult struct {
	Accepted   int // new events stored
	Duplicates int // events whose id was already stored
}

type job struct {
	ctx   context.Context
	batch *IngestBatch
	done  chan jobResult
}

type jobResult struct {
	res IngestResult
	err error
}

// writer owns the write connection for ingest: it gathers queued batches and
// commits them together (group commit), then answers each batch.
type writer struct {
	s       *Store
	opt     Options
	queue   chan *job
	queued  atomic.Int64 // events waiting
	mu      sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	stopped chan struct{}
}

func newWriter(s *Store, opt Options) *writer {
	w := &writer{s: s, opt: opt, queue: make(chan *job, opt.QueueEvents), stopped: make(chan struct{})}
	go w.run()
	return w
}

// Ingest queues b and waits until it is committed. It returns ErrQueueFull at
// once when the queue cannot take b, and ErrClosed after Close. When it
// returns without error, the events are durable in the database.
func (s *Store) Ingest(ctx context.Context, b *IngestBatch) (IngestResult, error) {
	if len(b.Events) == 0 {
		return IngestResult{}, nil
	}
	w := s.writer
	n := int64(len(b.Events))
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return IngestResult{}, ErrClosed
	}
	if w.queued.Add(n) > int64(w.opt.QueueEvents) {
		w.queued.Add(-n)
		w.mu.RUnlock()
		return IngestResult{}, ErrQueueFull
	}
	j := &job{ctx: context.WithoutCancel(ctx), batch: b, done: make(chan jobResult, 1)}
	w.queue <- j // capacity = QueueEvents jobs, and each job holds ≥ 1 event: never blocks
	w.mu.RUnlock()
	// Wait for the commit even if the client goes away: once queued, the batch
	// is committed; the caller decides what to answer.
	r := <-j.done
	return r.res, r.err
}

// QueuedEvents reports the events waiting for the writer.
func (s *Store) QueuedEvents() int64 { return s.writer.queued.Load() }

func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.stopped
}

func (w *writer) run() {
	defer close(w.stopped)
	for {
		j, ok := <-w.queue
		if !ok {
			return
		}
		group := []*job{j}
		n := len(j.batch.Events)
		add := func(j *job) {
			group = append(group, j)
			n += len(j.batch.Events)
		}
		// Natural group commit: take everything already queued, so the busier
		// the server, the larger the commits. Only a small group waits (up to
		// CommitDelay) for more, so a trickle is not committed batch by batch.
		deadline := time.Now().Add(w.opt.CommitDelay)
	gather:
		for n < w.opt.MaxCommitEvents {
			select {
			case j, ok := <-w.queue:
				if !ok {
					break gather
				}
				add(j)
				continue
			default:
			}
			wait := time.Until(deadline)
			if n >= w.opt.SmallCommitEvents || wait <= 0 {
				break
			}
			timer := time.NewTimer(wait)
			select {
			case j, ok := <-w.queue:
				timer.Stop()
				if !ok {
					break gather
				}
				add(j)
			case <-timer.C:
				break gather
			}
		}
		w.commitGroup(group, n)
	}
}

func (w *writer) commitGroup(group []*job, n int) {
	start := time.Now()
	results, err := w.s.commit(group)
	if w.opt.Observer != nil {
		w.opt.Observer.ObserveCommit(n, time.Since(start), err)
	}
	if err != nil && len(group) > 1 {
		// One bad batch must not fail the others: commit each alone.
		for _, j := range group {
			r, err := w.s.commit([]*job{j})
			w.answer(j, jobResult{err: err}, r)
		}
		return
	}
	for _, j := range group {
		w.answer(j, jobResult{err: err}, results)
	}
}

func (w *writer) answer(j *job, r jobResult, results map[*job]IngestResult) {
	if r.err == nil {
		r.res = results[j]
	}
	w.queued.Add(-int64(len(j.batch.Events)))
	j.done <- r
}

const insertEventSQL = `INSERT INTO events (event_id, app_id, device_id, user_id, start_ms, duration_ms,
	url, template, host, sanitizer_version, browser, browser_version, entity, location_type, site, vpn,
	location_rule, country_code, country, state, city, latitude, longitude, received_ms)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT(device_id, event_id) DO NOTHING`

// commit writes every batch of group in one transaction.
func (s *Store) commit(group []*job) (map[*job]IngestResult, error) {
	ctx := context.Background()
	results := make(map[*job]IngestResult, len(group))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		ins, err := tx.PrepareContext(ctx, insertEventSQL)
		if err != nil {
			return fmt.Errorf("store: prepare event insert: %w", err)
		}
		defer ins.Close()
		acc := newRollupAcc()
		now := nowMs()
		for _, j := range group {
			b := j.batch
			var userID any
			if b.User != nil && b.User.Name != "" {
				id, err := s.upsertUser(ctx, tx, b.User, now)
				if err != nil {
					return err
				}
				userID = id
			}
			deviceID, err := s.upsertDevice(ctx, tx, b, userID, now)
			if err != nil {
				return err
			}
			var r IngestResult
			for i := range b.Events {
				e := &b.Events[i]
				res, err := ins.ExecContext(ctx, e.ID[:], e.AppID, deviceID, userID, e.StartMs, e.DurationMs,
					nullable(e.URL), nullable(e.Template), nullable(e.Host), nullable(e.SanitizerVersion),
					b.Browser, b.BrowserVersion, e.Entity, e.LocationType, e.Site, e.VPN, e.LocationRule,
					e.CountryCode, e.Country, e.State, e.City, e.Latitude, e.Longitude, now)
				if err != nil {
					return fmt.Errorf("store: insert event: %w", err)
				}
				if k, _ := res.RowsAffected(); k == 1 {
					r.Accepted++
					uid, _ := userID.(int64)
					acc.add(e.AppID, e.Entity, e.StartMs, e.DurationMs, uid, deviceID)
				} else {
					r.Duplicates++
				}
			}
			results[j] = r
		}
		return acc.flush(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Associated-data labels binding sealed values to their column.
const (
	aadUserName     = "users.name"
	aadUserUPN      = "users.upn"
	aadDeviceExtID  = "devices.ext_id"
	aadDeviceName   = "devices.name"
	aadDevicePublic = "devices.public_ip"
	aadDeviceLocal  = "devices.local_ips"
)

// Index domains of the keyed lookup hashes.
const (
	indexUser       = "user"
	indexDevice     = "device"
	indexDeviceName = "device-name"
)

func (s *Store) upsertUser(ctx context.Context, tx *sqlx.Tx, u *UserInfo, now int64) (int64, error) {
	var upn any
	if u.UPN != "" {
		upn = s.cipher.SealString(u.UPN, aadUserUPN)
	}
	var id int64
	err := tx.GetContext(ctx, &id, `INSERT INTO users (key, name_enc, upn_enc, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET last_seen = max(users.last_seen, excluded.last_seen),
		upn_enc = coalesce(excluded.upn_enc, users.upn_enc) RETURNING id`,
		s.cipher.Index(indexUser, u.Name), s.cipher.SealString(u.Name, aadUserName), upn, now, now)
	if err != nil {
		return 0, fmt.Errorf("store: upsert user: %w", err)
	}
	return id, nil
}

func (s *Store) upsertDevice(ctx context.Context, tx *sqlx.Tx, b *IngestBatch, userID any, now int64) (int64, error) {
	d := &b.Device
	var name, public, local any
	if d.Name != "" {
		name = s.cipher.SealString(d.Name, aadDeviceName)
	}
	if d.PublicIP != "" {
		public = s.cipher.SealString(d.PublicIP, aadDevicePublic)
	}
	if len(d.LocalIPs) > 0 {
		j, _ := json.Marshal(d.LocalIPs)
		local = s.cipher.SealString(string(j), aadDeviceLocal)
	}
	var id int64
	var nameKey any
	if d.Name != "" {
		nameKey = s.cipher.Index(indexDeviceName, strings.ToLower(d.Name))
	}
	err := tx.GetContext(ctx, &id, `INSERT INTO devices (key, ext_id_enc, name_enc, name_key, public_ip_enc, local_ips_enc, entity,
		location_type, site, country_code, country, state, city, browser, last_user_id, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET name_enc = excluded.name_enc, name_key = excluded.name_key, public_ip_enc = coalesce(excluded.public_ip_enc, devices.public_ip_enc),
		local_ips_enc = excluded.local_ips_enc, entity = excluded.entity, location_type = excluded.location_type,
		site = excluded.site, country_code = excluded.country_code, country = excluded.country, state = excluded.state,
		city = excluded.city, browser = excluded.browser, last_user_id = coalesce(excluded.last_user_id, devices.last_user_id),
		last_seen = max(devices.last_seen, excluded.last_seen) RETURNING id`,
		s.cipher.Index(indexDevice, d.ExternalID), s.cipher.SealString(d.ExternalID, aadDeviceExtID), name, nameKey, public, local,
		d.Entity, d.LocationType, d.Site, d.CountryCode, d.Country, d.State, d.City, b.Browser, userID, now, now)
	if err != nil {
		return 0, fmt.Errorf("store: upsert device: %w", err)
	}
	return id, nil
}
