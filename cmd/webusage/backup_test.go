package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"webusage/keys"
	"webusage/store"
	"webusage/webapps"
)

// seededDataDir creates a data directory with a store holding n events of
// user alice; the store stays open (as under a running server).
func seededDataDir(t *testing.T, n int) (string, *store.Store, int64) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	kr, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "webusage.db"), kr, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	app, err := st.CreateApplication(context.Background(), store.Actor{Name: "t"}, webapps.Application{Name: "CRM", Patterns: []string{"crm.example.com/*"}})
	if err != nil {
		t.Fatal(err)
	}
	ingestN(t, st, app.ID, "alice", 0, n)
	return dir, st, app.ID
}

func ingestN(t *testing.T, st *store.Store, app int64, user string, from, n int) {
	t.Helper()
	b := &store.IngestBatch{Device: store.DeviceInfo{ExternalID: "dev-" + user, Name: strings.ToUpper(user) + "-PC", PublicIP: "198.51.100.9"},
		User: &store.UserInfo{Name: user, UPN: user + "@corp.example"}}
	for i := from; i < from+n; i++ {
		var id [16]byte
		copy(id[:], fmt.Sprintf("%-8s%08d", user, i))
		b.Events = append(b.Events, store.IngestEvent{ID: id, AppID: app, StartMs: time.Now().Add(-time.Duration(i) * time.Minute).UnixMilli(), DurationMs: 1000})
	}
	if _, err := st.Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func TestBackupWhileTheServerWritesAndRestore(t *testing.T) {
	dir, st, app := seededDataDir(t, 50)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ingestN(t, st, app, "bob", i*10, 10)
		}
	})
	to := filepath.Join(t.TempDir(), "backup.db")
	code, out, stderr := runCmd(t, "backup", "--data", dir, "--to", to)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "key-encryption key") {
		t.Errorf("output %q", out)
	}
	for _, f := range []string{to, to + ".keyring.json"} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	// Restore: the copy, its keyring and the KEK in a fresh directory.
	restore := filepath.Join(t.TempDir(), "restored")
	os.MkdirAll(restore, 0o700)
	for src, dst := range map[string]string{to: "webusage.db", to + ".keyring.json": "keyring.json", filepath.Join(dir, "kek"): "kek"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(restore, dst), b, 0o600)
	}
	kr, err := keys.Open(restore, "")
	if err != nil {
		t.Fatal(err)
	}
	rst, err := store.Open(context.Background(), filepath.Join(restore, "webusage.db"), kr, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	exp, err := rst.ExportUser(context.Background(), store.Actor{Name: "t"}, "alice")
	if err != nil || exp.Rows("events") != 50 {
		t.Fatalf("restored: %d events, %v", exp.Rows("events"), err)
	}
	if code, _, _ := runCmd(t, "backup", "--data", dir, "--to", to); code != 1 {
		t.Fatalf("backup over an existing file: exit %d", code)
	}
	if code, _, _ := runCmd(t, "backup", "--data", dir); code != 2 {
		t.Fatalf("backup without --to: exit %d", code)
	}
}
