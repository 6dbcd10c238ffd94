package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// eventAt ingests one event of user on device starting at start.
func (f *dmFixture) eventAt(t *testing.T, device, user string, start time.Time, dur time.Duration) [16]byte {
	t.Helper()
	f.seq++
	var id [16]byte
	copy(id[:], fmt.Sprintf("rt%014d", f.seq))
	b := &IngestBatch{Device: DeviceInfo{ExternalID: extID(device), Name: device, Entity: "Lausanne"},
		Events: []IngestEvent{{ID: id, AppID: f.app, StartMs: start.UnixMilli(), DurationMs: dur.Milliseconds(), Entity: "Lausanne"}}}
	if user != "" {
		b.User = &UserInfo{Name: user}
	}
	if r, err := f.st.Ingest(context.Background(), b); err != nil || r.Accepted != 1 {
		t.Fatalf("ingest: %+v %v", r, err)
	}
	return id
}

func (f *dmFixture) hasEvent(t *testing.T, id [16]byte) bool {
	t.Helper()
	return f.count(t, "SELECT count(*) FROM events WHERE event_id = ?", id[:]) == 1
}

func TestRetentionEventBoundaries(t *testing.T) {
	f := newDM(t)
	now := time.Date(2026, 12, 10, 15, 30, 0, 0, time.UTC)
	before := now.AddDate(0, 0, -30)                          // 2026-11-10 15:30
	midnight := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC) // the effective cutoff
	cases := []struct {
		name  string
		start time.Time
		dur   time.Duration
		kept  bool
	}{
		{"long before", midnight.AddDate(0, 0, -5), time.Minute, false},
		{"ends just before the cutoff", midnight.Add(-time.Minute), time.Minute, false},
		{"started 1 ms before the cutoff", midnight.Add(-time.Millisecond), time.Millisecond, false},
		{"crosses the cutoff", midnight.Add(-10 * time.Minute), 20 * time.Minute, false},
		{"starts at the cutoff", midnight, time.Minute, true},
		{"same day as the cutoff instant, before it", before.Add(-time.Hour), time.Minute, true},
		{"at the cutoff instant", before, time.Minute, true},
		{"recent", now.Add(-time.Hour), time.Minute, true},
	}
	ids := make([][16]byte, len(cases))
	for i, c := range cases {
		ids[i] = f.eventAt(t, "PC-1", "alice", c.start, c.dur)
	}
	pending, err := f.st.PendingRetention(context.Background(), RetentionPolicy{EventsBefore: midnight, InactiveBefore: now.AddDate(-1, 0, 0)})
	if err != nil || pending.Events != 4 || pending.OldestEvent == nil || !pending.OldestEvent.Equal(cases[0].start) {
		t.Fatalf("pending %+v %v", pending, err)
	}
	res, err := f.st.ApplyRetention(context.Background(), RetentionPolicy{EventsBefore: before})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got := f.hasEvent(t, ids[i]); got != c.kept {
			t.Errorf("%s: kept = %v, want %v", c.name, got, c.kept)
		}
	}
	if res.Deleted["events"] != 4 {
		t.Errorf("deleted %+v", res.Deleted)
	}
	if n := f.count(t, "SELECT count(*) FROM usage_daily WHERE day < ?", midnight.UnixMilli()/dayMs); n != 0 {
		t.Errorf("%d rollup days before the cutoff", n)
	}
	assertRollupsExact(t, f.st)
	// The user and device are still active: kept.
	if f.count(t, "SELECT count(*) FROM users") != 1 || f.count(t, "SELECT count(*) FROM devices") != 1 {
		t.Error("active user or device deleted")
	}
}

func TestRetentionInactiveBoundaries(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	f.eventAt(t, "OLD-PC", "olduser", start, time.Minute)
	f.eventAt(t, "EDGE-PC", "edgeuser", start, time.Minute)
	f.eventAt(t, "NEW-PC", "newuser", start, time.Minute)
	f.eventAt(t, "NEW-PC", "olduser", start.Add(time.Minute), time.Minute) // NEW-PC's last user: olduser
	cutoff := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	set := func(table, key string, at int64) {
		t.Helper()
		if _, err := f.st.w.Exec("UPDATE "+table+" SET last_seen = ? WHERE key = ?", at, key); err != nil {
			t.Fatal(err)
		}
	}
	c := cutoff.UnixMilli()
	set("devices", f.kr.Index(indexDevice, extID("OLD-PC")), c-1)
	set("devices", f.kr.Index(indexDevice, extID("EDGE-PC")), c)
	set("users", f.kr.Index(indexUser, "olduser"), c-1)
	set("users", f.kr.Index(indexUser, "edgeuser"), c)
	res, err := f.st.ApplyRetention(ctx, RetentionPolicy{InactiveBefore: cutoff})
	if err != nil {
		t.Fatal(err)
	}
	var devices, users []string
	for _, id := range []string{"OLD-PC", "EDGE-PC", "NEW-PC"} {
		if f.count(t, "SELECT count(*) FROM devices WHERE key = ?", f.kr.Index(indexDevice, extID(id))) == 1 {
			devices = append(devices, id)
		}
	}
	for _, u := range []string{"olduser", "edgeuser", "newuser"} {
		if f.count(t, "SELECT count(*) FROM users WHERE key = ?", f.kr.Index(indexUser, u)) == 1 {
			users = append(users, u)
		}
	}
	if len(devices) != 2 || devices[0] != "EDGE-PC" || len(users) != 2 || users[0] != "edgeuser" {
		t.Fatalf("kept devices %v users %v", devices, users)
	}
	// OLD-PC's event and olduser's events went with them; NEW-PC forgot its last user.
	if n := f.count(t, "SELECT count(*) FROM events"); n != 2 {
		t.Fatalf("%d events left", n)
	}
	if n := f.count(t, "SELECT count(*) FROM devices WHERE last_user_id IS NULL"); n != 1 {
		t.Fatalf("%d devices without last user", n)
	}
	if res.Deleted["devices"] != 1 || res.Deleted["users"] != 1 || res.Deleted["events"] != 2 || res.Cleared["devices"] != 1 {
		t.Fatalf("result %+v", res)
	}
	assertRollupsExact(t, f.st)
}

func TestRetentionWorksInSmallBatches(t *testing.T) {
	f := newDM(t)
	old := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	f.report(t, "PC-1", "alice", old, 50, "https://crm.example.com/x")
	f.report(t, "PC-1", "alice", time.Now(), 3, "https://crm.example.com/y")
	res, err := f.st.ApplyRetention(context.Background(), RetentionPolicy{EventsBefore: time.Now().AddDate(0, 0, -30), BatchRows: 7})
	if err != nil {
		t.Fatal(err)
	}
	// 50 rows at 7 per transaction: 8 transactions, plus the crossing pass and the rollup prune.
	if res.Deleted["events"] != 50 || res.Transactions < 8 {
		t.Fatalf("result %+v", res)
	}
	if n := f.count(t, "SELECT count(*) FROM events"); n != 3 {
		t.Fatalf("%d events left", n)
	}
	assertRollupsExact(t, f.st)
}

func TestRetentionRunIsRecorded(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	run := RetentionRun{Started: time.Unix(100, 0).UTC(), Finished: time.Unix(101, 0).UTC(), Deleted: map[string]int64{"events": 3}}
	if err := f.st.RecordRetentionRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	var got RetentionRun
	if found, err := f.st.GetConfig(ctx, ConfigRetentionLastRun, &got); err != nil || !found || got.Deleted["events"] != 3 || !got.Finished.Equal(run.Finished) {
		t.Fatalf("%+v %v %v", got, found, err)
	}
}
