package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"webusage/store"
)

// accountWith creates a main role with privacy and permissions, an account
// holding it, and returns the account's token.
func (ts *testServer) accountWith(name string, privacy map[string]string, perms ...string) string {
	ts.t.Helper()
	role := ts.do("POST", "/api/v1/roles", ts.admin, map[string]any{"name": name, "type": "main",
		"view_domain": map[string]any{"access": "full"}, "privacy": privacy, "permissions": perms}).must(ts.t, 201).json(ts.t)
	acct := ts.do("POST", "/api/v1/accounts", ts.admin, map[string]any{"name": name, "main_role": role["id"]}).must(ts.t, 201).json(ts.t)
	return acct["token"].(string)
}

var allVisible = map[string]string{"users": "visible", "devices": "visible", "destinations": "visible"}

func TestDataManagementNeedsThePermissionAndFullVisibility(t *testing.T) {
	ts := startServer(t)
	dpo := ts.accountWith("dpo", allVisible, "administrator", "data_management")
	adminOnly := ts.accountWith("admin2", allVisible, "administrator")
	hideUsers := ts.accountWith("dpo-nousers", map[string]string{"users": "hidden", "devices": "visible", "destinations": "visible"},
		"administrator", "data_management")
	hideDest := ts.accountWith("dpo-nodest", map[string]string{"users": "visible", "devices": "visible", "destinations": "hidden"},
		"administrator", "data_management")
	calls := []struct{ method, path string }{
		{"GET", "/api/v1/data/users/alice"},
		{"DELETE", "/api/v1/data/users/alice"},
		{"DELETE", "/api/v1/data/devices/LAP-1"},
		{"POST", "/api/v1/data/anonymize"},
		{"GET", "/api/v1/data/retention"},
		{"POST", "/api/v1/data/retention/run"},
	}
	for _, c := range calls {
		var body any
		if c.method == "POST" && strings.HasSuffix(c.path, "anonymize") {
			body = map[string]any{"devices": true}
		}
		ts.do(c.method, c.path, "", body).must(t, 401)
		for name, tok := range map[string]string{"no data_management": adminOnly, "users hidden": hideUsers, "destinations hidden": hideDest} {
			if r := ts.do(c.method, c.path, tok, body); r.status != 403 {
				t.Errorf("%s %s with %s: %d", c.method, c.path, name, r.status)
			}
		}
		if r := ts.do(c.method, c.path, dpo, body); r.status != 200 && r.status != 404 {
			t.Errorf("%s %s as data manager: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

func TestDataSubjectAccessAndErasureOverHTTP(t *testing.T) {
	ts := startServer(t)
	ts.patchSettings(map[string]any{"collect_urls": true})
	ts.createApp("CRM", []string{"crm.example.com/*"}, true)
	now := time.Now().Add(-time.Hour)
	ts.post(batch("lap-alice", "alice", usage("https://crm.example.com/alicesecretpath", now, 60000),
		usage("https://crm.example.com/alicesecretpath/2", now.Add(time.Minute), 60000))).must(t, 200)
	ts.post(batch("shared-1", "alice", usage("https://crm.example.com/sharedalice", now.Add(2*time.Minute), 60000))).must(t, 200)
	ts.post(batch("shared-1", "bob", usage("https://crm.example.com/bobpath", now.Add(3*time.Minute), 60000))).must(t, 200)

	m := ts.do("GET", "/api/v1/data/users/alice", ts.admin, nil).must(t, 200).json(t)
	tables := m["tables"].(map[string]any)
	if n := len(tables["users"].([]any)); n != 1 {
		t.Fatalf("%d user records", n)
	}
	if n := len(tables["events"].([]any)); n != 3 {
		t.Fatalf("%d events", n)
	}
	if n := len(tables["devices"].([]any)); n != 2 {
		t.Fatalf("%d devices", n)
	}
	u := tables["users"].([]any)[0].(map[string]any)
	if u["name"] != "alice" {
		t.Fatalf("user record %v", u)
	}

	// The zip holds one CSV per table, with the same rows.
	r := ts.do("GET", "/api/v1/data/users/alice?format=zip", ts.admin, nil).must(t, 200)
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(rc).ReadAll()
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		rows[f.Name] = len(recs) - 1
	}
	if rows["users.csv"] != 1 || rows["events.csv"] != 3 || rows["devices.csv"] != 2 {
		t.Fatalf("zip rows %v", rows)
	}
	ts.do("GET", "/api/v1/data/users/alice?format=xml", ts.admin, nil).must(t, 400)
	ts.do("GET", "/api/v1/data/users/nobody", ts.admin, nil).must(t, 404)

	// Control: her URLs are in the database files before erasure.
	ts.st.Checkpoint(context.Background())
	if !rawContains(t, ts, "alicesecretpath") {
		t.Fatal("control: the URL is not in the files before erasure")
	}
	del := ts.do("DELETE", "/api/v1/data/users/alice", ts.admin, nil).must(t, 200).json(t)
	if del["subjects"].(float64) != 1 || del["deleted"].(map[string]any)["events"].(float64) != 3 {
		t.Fatalf("erasure %v", del)
	}
	ts.do("GET", "/api/v1/data/users/alice", ts.admin, nil).must(t, 404)
	from, to := url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	left := ts.eventsRows(ts.admin, "from="+from+"&to="+to)
	if len(left) != 1 || left[0]["user"] != "bob" {
		t.Fatalf("events left %v", left)
	}
	assertNotInDatabase(t, ts, "alicesecretpath", "sharedalice")

	// The device, by the extension's id: its remaining (bob's) event goes too.
	ts.do("DELETE", "/api/v1/data/devices/shared-1", ts.admin, nil).must(t, 200)
	if left := ts.eventsRows(ts.admin, "from="+from+"&to="+to); len(left) != 0 {
		t.Fatalf("events left %v", left)
	}
	ts.do("DELETE", "/api/v1/data/devices/"+url.PathEscape("no/such device"), ts.admin, nil).must(t, 404)

	// Every request is in the audit trail, the subject never in clear.
	audit := ts.do("GET", "/api/v1/audit", ts.admin, nil).must(t, 200)
	if bytes.Contains(bytes.ToLower(audit.body), []byte("alice")) {
		t.Fatalf("audit names the subject: %s", audit.body)
	}
	hash := ts.srv.keys.Index("user", "alice")
	for _, want := range []string{"data.user.export", "data.user.delete", "data.device.delete", "user:" + hash} {
		if !bytes.Contains(audit.body, []byte(want)) {
			t.Errorf("audit lacks %q", want)
		}
	}
}

// rawContains reports whether s (any case) is in the database files.
func rawContains(t *testing.T, ts *testServer, s string) bool {
	t.Helper()
	for _, f := range []string{"webusage.db", "webusage.db-wal"} {
		b, err := os.ReadFile(filepath.Join(ts.dir, f))
		if err == nil && bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(s))) {
			return true
		}
	}
	return false
}

func TestAnonymizeOverHTTP(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	now := time.Now().Add(-time.Hour)
	ts.post(batch("lap-alice", "alice", usage("https://crm.example.com/x", now, 60000))).must(t, 200)
	ts.do("POST", "/api/v1/data/anonymize", ts.admin, map[string]any{}).must(t, 400)
	m := ts.do("POST", "/api/v1/data/anonymize", ts.admin, map[string]any{"users": true, "devices": true}).must(t, 200).json(t)
	if m["username"] != "hashed" || m["anonymized"].(map[string]any)["users"].(float64) != 1 {
		t.Fatalf("anonymize %v", m)
	}
	if s := ts.do("GET", "/api/v1/settings", ts.admin, nil).must(t, 200).json(t); s["username"] != "hashed" {
		t.Fatalf("username setting %v", s["username"])
	}
	pu, pd := ts.srv.keys.Pseudonym("user", "alice"), ts.srv.keys.Pseudonym("device", "lap-alice")
	from, to := url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	rows := ts.eventsRows(ts.admin, "from="+from+"&to="+to)
	if len(rows) != 1 || rows[0]["user"] != pu || rows[0]["device"] != pd {
		t.Fatalf("rows %v, want user %s device %s", rows, pu, pd)
	}
	// New data arrives anonymized and joins the same person and device.
	ts.post(batch("lap-alice", "alice", usage("https://crm.example.com/y", now.Add(time.Minute), 60000))).must(t, 200)
	rows = ts.eventsRows(ts.admin, "from="+from+"&to="+to)
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	for _, r := range rows {
		if r["user"] != pu || r["device"] != pd {
			t.Fatalf("row %v, want user %s device %s", r, pu, pd)
		}
	}
	devs := ts.do("GET", "/api/v1/devices", ts.admin, nil).must(t, 200).json(t)["rows"].([]any)
	if len(devs) != 1 || devs[0].(map[string]any)["device"] != pd || len(fmt.Sprint(devs[0].(map[string]any)["local_ips"])) > 2 {
		t.Fatalf("device record after new data: %v", devs)
	}
	// The clear name still answers a data-subject request.
	exp := ts.do("GET", "/api/v1/data/users/alice", ts.admin, nil).must(t, 200).json(t)
	if n := len(exp["tables"].(map[string]any)["events"].([]any)); n != 2 {
		t.Fatalf("export after anonymization: %d events", n)
	}
	assertNotInDatabase(t, ts, "alice")
}

func TestRetentionOverHTTPAndMetrics(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	old := time.Now().AddDate(0, 0, -40)
	ts.post(batch("lap-1", "alice", usage("https://crm.example.com/x", old, 60000), usage("https://crm.example.com/x", old.Add(time.Minute), 60000))).must(t, 200)
	ts.post(batch("lap-1", "alice", usage("https://crm.example.com/x", time.Now().Add(-time.Hour), 60000))).must(t, 200)
	st := ts.do("GET", "/api/v1/data/retention", ts.admin, nil).must(t, 200).json(t)
	if st["retention_days"].(float64) != 30 || st["pending"].(map[string]any)["expired_events"].(float64) != 2 || st["last_run"] != nil {
		t.Fatalf("status %v", st)
	}
	run := ts.do("POST", "/api/v1/data/retention/run", ts.admin, nil).must(t, 200).json(t)
	if run["deleted"].(map[string]any)["events"].(float64) != 2 {
		t.Fatalf("run %v", run)
	}
	st = ts.do("GET", "/api/v1/data/retention", ts.admin, nil).must(t, 200).json(t)
	if st["pending"].(map[string]any)["expired_events"].(float64) != 0 || st["last_run"] == nil {
		t.Fatalf("status after run %v", st)
	}
	metrics := string(ts.do("GET", "/metrics", "", nil).must(t, 200).body)
	for _, want := range []string{`webusage_retention_deleted_rows_total{table="events"} 2`, `webusage_retention_runs_total{result="ok"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, "webusage_retention_last_run_timestamp_seconds 0\n") {
		t.Error("last run time not set")
	}
}

func TestBackgroundJobRunsRetention(t *testing.T) {
	ts := startServer(t)
	ts.createApp("CRM", []string{"crm.example.com/*"}, false)
	ts.post(batch("lap-1", "alice", usage("https://crm.example.com/x", time.Now().AddDate(0, 0, -60), 60000))).must(t, 200)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts.srv.StartBackground(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var run store.RetentionRun
		found, err := ts.st.GetConfig(context.Background(), store.ConfigRetentionLastRun, &run)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			if run.Deleted["events"] != 1 || run.Error != "" {
				t.Fatalf("run %+v", run)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background job did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	metrics := string(ts.do("GET", "/metrics", "", nil).must(t, 200).body)
	if !strings.Contains(metrics, fmt.Sprintf(`webusage_retention_deleted_rows_total{table="events"} %d`, 1)) {
		t.Errorf("metrics: %s", metrics)
	}
}
