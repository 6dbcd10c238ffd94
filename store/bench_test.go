package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"webusage/keys"
	"webusage/privacy"
	"webusage/webapps"
)

// benchEvents is the size of the usage-query benchmark database
// (WEBUSAGE_BENCH_EVENTS overrides; default 10 M).
func benchEvents() int {
	if v, err := strconv.Atoi(os.Getenv("WEBUSAGE_BENCH_EVENTS")); err == nil && v > 0 {
		return v
	}
	return 10_000_000
}

// openBenchStore returns a store holding n events over the 30 days before
// day0, 5,000 devices and users, 20 applications and 20 entities. The
// database is generated once into WEBUSAGE_BENCH_DIR (default: the system
// temp dir) and reused by later runs.
func openBenchStore(b *testing.B, n int, day0 time.Time) *Store {
	b.Helper()
	root := os.Getenv("WEBUSAGE_BENCH_DIR")
	if root == "" {
		root = os.TempDir()
	}
	dir := filepath.Join(root, fmt.Sprintf("webusage-bench-%d-%s", n, day0.Format("20060102")))
	ready := filepath.Join(dir, "ready")
	if _, err := os.Stat(ready); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		if err := generateBenchDB(dir, n, day0); err != nil {
			os.RemoveAll(dir)
			b.Fatal(err)
		}
		if err := os.WriteFile(ready, nil, 0o600); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d events in %v", n, time.Since(start).Round(time.Second))
	}
	kr, err := keys.Open(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	st, err := Open(context.Background(), filepath.Join(dir, "webusage.db"), kr, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func generateBenchDB(dir string, n int, day0 time.Time) error {
	ctx := context.Background()
	kr, err := keys.Open(dir, "")
	if err != nil {
		return err
	}
	st, err := Open(ctx, filepath.Join(dir, "webusage.db"), kr, Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range 20 {
		if _, err := st.CreateApplication(ctx, Actor{Name: "bench"}, webapps.Application{
			Name: fmt.Sprintf("App %02d", i), Patterns: []string{fmt.Sprintf("app%d.example.com/*", i)}}); err != nil {
			return err
		}
	}
	// Users and devices go through the real write path (sealed names).
	for i := range 5000 {
		b := &IngestBatch{Device: DeviceInfo{ExternalID: fmt.Sprintf("dev-%d", i), Name: fmt.Sprintf("LAP-%04d", i),
			Entity: fmt.Sprintf("Entity %02d", i%20)}, User: &UserInfo{Name: fmt.Sprintf("user%04d", i)}}
		b.Events = []IngestEvent{{ID: randomID(), AppID: 1, StartMs: day0.Add(-time.Hour).UnixMilli(), DurationMs: 1000, Entity: b.Device.Entity}}
		if _, err := st.Ingest(ctx, b); err != nil {
			return err
		}
	}
	// The bulk of the events straight in SQL, then the rollups rebuilt.
	conn, err := st.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, p := range []string{"PRAGMA synchronous=OFF", "PRAGMA cache_size=-1000000"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	from := day0.AddDate(0, 0, -30).UnixMilli()
	_, err = conn.ExecContext(ctx, `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		INSERT INTO events (event_id, app_id, device_id, user_id, start_ms, duration_ms, browser, entity, location_type, received_ms)
		SELECT randomblob(16), 1 + (i * 7 + i / 5000) % 20, 1 + i % 5000, 1 + i % 5000,
		       ? + (i * 2654435761) % 2592000000, 1000 + (i * 40503) % 600000, 'chrome',
		       printf('Entity %02d', (i % 5000) % 20), 'remote', ?
		FROM c`, n-5001, from, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("generate events: %w", err)
	}
	conn.Close()
	return st.RebuildRollups(ctx)
}

// BenchmarkUsageByApplication10M: /api/v1/usage grouped by application over
// 30 whole days of a 10 M-event database, for a full-domain role, a role
// limited to 5 of 20 entities, and (for reference) the same query scanning
// the events table instead of the rollups.
func BenchmarkUsageByApplication10M(b *testing.B) {
	day0 := time.Now().UTC().Truncate(24 * time.Hour)
	st := openBenchStore(b, benchEvents(), day0)
	q := UsageQuery{From: day0.AddDate(0, 0, -30), To: day0, GroupBy: []string{"application"}}
	limited, err := privacy.Resolve(privacy.Role{Name: "eu", Type: privacy.MainRole,
		ViewDomain:  &privacy.ViewDomain{Access: privacy.AccessLimited, Entities: []string{"Entity 00", "Entity 01", "Entity 02", "Entity 03", "Entity 04"}},
		Privacy:     privacy.DataPrivacy{Users: privacy.Visible, Devices: privacy.Visible, Destinations: privacy.Visible},
		Permissions: []privacy.Permission{privacy.ViewWebUsage}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, sc Scope, q UsageQuery) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				tab, err := st.Usage(context.Background(), sc, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(tab.Rows) != 20 {
					b.Fatalf("%d rows, want 20", len(tab.Rows))
				}
			}
		})
	}
	run("full", Scope{Access: privacy.FullAccess()}, q)
	run("limited", Scope{Access: limited}, q)
	scan := q
	scan.ForceScan = true
	run("full-scan-no-rollups", Scope{Access: privacy.FullAccess()}, scan)
}
