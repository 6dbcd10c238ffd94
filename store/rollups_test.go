package store

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"webusage/keys"
	"webusage/org"
	"webusage/privacy"
	"webusage/webapps"
)

func openTestStore(t testing.TB) *Store {
	t.Helper()
	dir := t.TempDir()
	kr, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), filepath.Join(dir, "webusage.db"), kr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func randomID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

// seedRandom ingests events spread over days, entities, users and devices,
// some crossing midnight, some replayed.
func seedRandom(t testing.TB, st *Store, base time.Time, n int, rng *mrand.Rand) []int64 {
	t.Helper()
	ctx := context.Background()
	var apps []int64
	for i := range 4 {
		a, err := st.CreateApplication(ctx, Actor{Name: "t"}, webapps.Application{Name: fmt.Sprintf("App%d", i), Patterns: []string{fmt.Sprintf("a%d.example.com/*", i)}})
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a.ID)
	}
	entities := []string{"Lausanne", "Zurich", "Tokyo", "n/a"}
	var replay []*IngestBatch
	for i := 0; i < n; {
		dev := rng.IntN(12)
		b := &IngestBatch{Device: DeviceInfo{ExternalID: fmt.Sprintf("dev-%d", dev), Name: fmt.Sprintf("DEV-%d", dev), Entity: entities[dev%4]}}
		if u := rng.IntN(10); u > 0 {
			b.User = &UserInfo{Name: fmt.Sprintf("user-%d", u)}
		}
		for range 1 + rng.IntN(20) {
			start := base.Add(time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))).UnixMilli()
			if rng.IntN(5) == 0 { // near midnight, crossing it
				start = start - start%dayMs + dayMs - int64(rng.IntN(600_000))
			}
			b.Events = append(b.Events, IngestEvent{ID: randomID(), AppID: apps[rng.IntN(len(apps))], StartMs: start,
				DurationMs: 1 + rng.Int64N(3_600_000), Entity: b.Device.Entity})
			i++
		}
		if _, err := st.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) == 0 {
			replay = append(replay, b)
		}
	}
	for _, b := range replay {
		r, err := st.Ingest(ctx, b)
		if err != nil || r.Accepted != 0 {
			t.Fatalf("replay: %+v %v", r, err)
		}
	}
	return apps
}

func testOrg(t testing.TB) *org.Organization {
	t.Helper()
	o, err := org.Compile(org.Ruleset{Entities: []org.Entity{
		{Name: "Lausanne", Classifications: map[string]string{"Region": "Europe"}},
		{Name: "Zurich", Classifications: map[string]string{"Region": "Europe"}},
		{Name: "Tokyo", Classifications: map[string]string{"Region": "Asia"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func limitedAccess(t testing.TB, entities ...string) privacy.Access {
	t.Helper()
	a, err := privacy.Resolve(privacy.Role{Name: "r", Type: privacy.MainRole,
		ViewDomain:  &privacy.ViewDomain{Access: privacy.AccessLimited, Entities: entities},
		Privacy:     privacy.DataPrivacy{Users: privacy.Visible, Devices: privacy.Visible, Destinations: privacy.Visible},
		Permissions: []privacy.Permission{privacy.ViewWebUsage}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRollupsMatchEventScan: for whole-day windows, the rollup path gives
// exactly what scanning the events gives, for every supported grouping and
// filter, for a full and a limited view domain; also after deleting a
// user's events and after a rebuild.
func TestRollupsMatchEventScan(t *testing.T) {
	st := openTestStore(t)
	base := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	seedRandom(t, st, base, 3000, mrand.New(mrand.NewPCG(1, 2)))
	o := testOrg(t)
	scopes := map[string]Scope{
		"full":    {Access: privacy.FullAccess(), Org: o},
		"limited": {Access: limitedAccess(t, "Lausanne", "Tokyo"), Org: o},
	}
	check := func(label string) {
		t.Helper()
		for name, sc := range scopes {
			for _, w := range [][2]int{{0, 1}, {3, 10}, {0, 45}, {12, 13}, {29, 31}, {63, 66}} {
				for _, g := range [][]string{nil, {"application"}, {"entity"}, {"application", "entity"}, {"classification.Region"}} {
					for _, f := range []map[string][]string{nil, {"application": {"App1", "App2"}}, {"classification.Region": {"Europe"}}} {
						q := UsageQuery{From: base.AddDate(0, 0, w[0]), To: base.AddDate(0, 0, w[1]), GroupBy: g, Filters: f, Sort: "events"}
						if !rollupEligible(q) {
							t.Fatalf("query not eligible: %+v", q)
						}
						got, err := st.Usage(context.Background(), sc, q)
						if err != nil {
							t.Fatal(err)
						}
						q.ForceScan = true
						want, err := st.Usage(context.Background(), sc, q)
						if err != nil {
							t.Fatal(err)
						}
						sortRows(got)
						sortRows(want)
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("%s/%s window %v group %v filter %v:\nrollup %v\nscan   %v", label, name, w, g, f, got, want)
						}
					}
				}
			}
		}
	}
	check("after ingest")
	// Delete one user's events: the rollups follow.
	err := st.inTx(context.Background(), func(tx *sqlx.Tx) error {
		var uid int64
		if err := tx.GetContext(context.Background(), &uid, "SELECT id FROM users WHERE key = ?", st.cipher.Index(indexUser, "user-3")); err != nil {
			return err
		}
		n, err := deleteEvents(context.Background(), tx, "e.user_id = ?", uid)
		if n == 0 {
			t.Error("no events deleted")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after deleting a user")
	if err := st.RebuildRollups(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("after rebuild")
}

func sortRows(t Table) {
	key := func(r []any) string { return fmt.Sprint(r...) }
	for i := 1; i < len(t.Rows); i++ {
		for j := i; j > 0 && key(t.Rows[j]) < key(t.Rows[j-1]); j-- {
			t.Rows[j], t.Rows[j-1] = t.Rows[j-1], t.Rows[j]
		}
	}
}

// TestPruneRollups drops whole days and clears the presence bits before the
// cutoff.
func TestPruneRollups(t *testing.T) {
	st := openTestStore(t)
	base := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	seedRandom(t, st, base, 500, mrand.New(mrand.NewPCG(3, 4)))
	cutoff := base.AddDate(0, 0, 20).UnixMilli() / dayMs
	err := st.inTx(context.Background(), func(tx *sqlx.Tx) error { return pruneRollups(context.Background(), tx, cutoff) })
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.r.Get(&n, "SELECT count(*) FROM usage_daily WHERE day < ?", cutoff); err != nil || n != 0 {
		t.Fatalf("%d old rollup days left (%v)", n, err)
	}
	var masks []int64
	if err := st.r.Select(&masks, "SELECT mask FROM presence_users WHERE block = ?", cutoff/blockDays); err != nil {
		t.Fatal(err)
	}
	for _, m := range masks {
		if m&((int64(1)<<(cutoff%blockDays))-1) != 0 {
			t.Fatalf("mask %b keeps days before the cutoff", m)
		}
	}
}
