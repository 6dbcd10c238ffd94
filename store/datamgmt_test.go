package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"webusage/keys"
	"webusage/webapps"
)

// dmFixture is a real store in its own data directory, with one application.
type dmFixture struct {
	st  *Store
	kr  *keys.Keyring
	dir string
	app int64
	seq int
}

func newDM(t *testing.T) *dmFixture {
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
	a, err := st.CreateApplication(context.Background(), Actor{Name: "t"}, webapps.Application{Name: "CRM", Patterns: []string{"crm.example.com/*"}})
	if err != nil {
		t.Fatal(err)
	}
	return &dmFixture{st: st, kr: kr, dir: dir, app: a.ID}
}

// report ingests n events of user (stored name as given; "" for none) on
// device, starting at start, one minute apart; each event's URL is
// urlPrefix/<i>. It returns the event ids.
func (f *dmFixture) report(t *testing.T, device, user string, start time.Time, n int, urlPrefix string) [][16]byte {
	t.Helper()
	b := &IngestBatch{Device: DeviceInfo{ExternalID: extID(device), Name: device, PublicIP: "198.51.100.77",
		LocalIPs: []string{"10.9.8.7"}, Entity: "Lausanne"}, Browser: "chrome"}
	if user != "" {
		b.User = &UserInfo{Name: user, UPN: user + "@corp.example"}
	}
	var ids [][16]byte
	for i := range n {
		f.seq++
		var id [16]byte
		copy(id[:], fmt.Sprintf("ev%014d", f.seq))
		ids = append(ids, id)
		b.Events = append(b.Events, IngestEvent{ID: id, AppID: f.app, StartMs: start.Add(time.Duration(i) * time.Minute).UnixMilli(),
			DurationMs: 30_000, URL: fmt.Sprintf("%s/%d", urlPrefix, i), Host: "crm.example.com", Entity: "Lausanne"})
	}
	if _, err := f.st.Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return ids
}

// extID is the extension's random id of the device called name in tests.
func extID(name string) string { return fmt.Sprintf("%08x-e", crc32.ChecksumIEEE([]byte(name))) }

func (f *dmFixture) userID(t *testing.T, stored string) int64 {
	t.Helper()
	var id int64
	if err := f.st.r.Get(&id, "SELECT id FROM users WHERE key = ?", f.kr.Index(indexUser, stored)); err != nil {
		t.Fatalf("user %q: %v", stored, err)
	}
	return id
}

func (f *dmFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.st.r.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// rawFiles returns the bytes of the database file and its write-ahead log.
func (f *dmFixture) rawFiles(t *testing.T) []byte {
	t.Helper()
	var all []byte
	for _, name := range []string{"webusage.db", "webusage.db-wal"} {
		b, err := os.ReadFile(filepath.Join(f.dir, name))
		if err == nil {
			all = append(all, b...)
		}
	}
	if len(all) == 0 {
		t.Fatal("no database bytes")
	}
	return all
}

// mentionColumns discovers, independently of schema(), the columns that
// can refer to a user or a device: a foreign key to users/devices, or a
// name containing "user" or "device".
func mentionColumns(t *testing.T, st *Store) map[string][]string {
	return mentionsOf(t, st, "users", "devices")
}

// userColumns is mentionColumns for users only.
func userColumns(t *testing.T, st *Store) map[string][]string { return mentionsOf(t, st, "users") }

func mentionsOf(t *testing.T, st *Store, targets ...string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	tables, err := st.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tb := range tables {
		var cols []string
		if err := st.r.Select(&cols, "SELECT name FROM pragma_table_info(?)", tb); err != nil {
			t.Fatal(err)
		}
		var fks []struct {
			From  string `db:"from"`
			Table string `db:"table"`
		}
		if err := st.r.Select(&fks, `SELECT "from", "table" FROM pragma_foreign_key_list(?)`, tb); err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			l := strings.ToLower(c)
			for _, target := range targets {
				fk := slices.ContainsFunc(fks, func(k struct {
					From  string `db:"from"`
					Table string `db:"table"`
				}) bool {
					return k.From == c && k.Table == target
				})
				if fk || strings.Contains(l, strings.TrimSuffix(target, "s")) {
					out[tb] = append(out[tb], c)
					break
				}
			}
		}
	}
	return out
}

// TestEveryTableIsClassified fails when a migration adds a table that data
// management does not know how to export, erase and expire.
func TestEveryTableIsClassified(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	names, err := f.st.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := schema(ctx, f.st.r)
	if err != nil {
		t.Fatal(err)
	}
	mentions := mentionColumns(t, f.st)
	for _, tb := range tables {
		refs := map[string]bool{}
		for _, r := range tb.Refs {
			refs[r.Column] = true
		}
		_, exempt := tablesWithoutSubjects[tb.Name]
		for _, c := range mentions[tb.Name] {
			if !refs[c] && !exempt {
				t.Errorf("%s.%s looks like it names a user or device but is not a user_id/device_id reference", tb.Name, c)
			}
		}
		switch {
		case tb.Name == tableUsers || tb.Name == tableDevices:
		case len(tb.Refs) > 0:
			if exempt {
				t.Errorf("%s refers to users or devices but is listed in tablesWithoutSubjects", tb.Name)
			}
			if tb.TimeCol == "" && !rollupTables[tb.Name] {
				t.Errorf("%s refers to users or devices but has no start_ms/bucket_ms column and is not a rollup: retention cannot expire it", tb.Name)
			}
		case !exempt && !rollupTables[tb.Name]:
			t.Errorf("table %s is not classified: add a user_id/device_id reference, or list it in tablesWithoutSubjects with the reason", tb.Name)
		}
	}
	if len(tables) != len(names) {
		t.Fatalf("schema() saw %d tables, Tables() %d", len(tables), len(names))
	}
}

func TestExportCoversEveryTableMentioningTheUser(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f.report(t, "ALICE-PC", "alice", base, 5, "https://crm.example.com/a")
	f.report(t, "SHARED-1", "alice", base.Add(time.Hour), 3, "https://crm.example.com/s")
	f.report(t, "SHARED-1", "bob", base.Add(2*time.Hour), 4, "https://crm.example.com/b")
	f.report(t, "BOB-PC", "bob", base.AddDate(0, 0, 1), 2, "https://crm.example.com/b2")
	alice := f.userID(t, "alice")

	exp, err := f.st.ExportUser(ctx, Actor{Name: "dpo"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Every table with a column that may name a user is covered, row for row.
	for table, cols := range userColumns(t, f.st) {
		if _, exempt := tablesWithoutSubjects[table]; exempt || table == tableDevices {
			continue
		}
		var conds []string
		for _, c := range cols {
			conds = append(conds, quoteIdent(c)+" = ?")
		}
		args := slices.Repeat([]any{alice}, len(cols))
		want := f.count(t, "SELECT count(*) FROM "+quoteIdent(table)+" WHERE "+strings.Join(conds, " OR "), args...)
		if table == tableUsers {
			want = 1
		}
		if got := exp.Rows(table); got != want || want == 0 {
			t.Errorf("table %s: exported %d rows, %d stored about the user", table, got, want)
		}
	}
	if n := exp.Rows(tableDevices); n != 2 {
		t.Errorf("exported %d devices, want the 2 she used", n)
	}
	// Readable: sealed values opened, references resolved.
	users := exportTable(t, exp, tableUsers)
	if users[0]["name"] != "alice" || users[0]["upn"] != "alice@corp.example" {
		t.Errorf("user record %v", users[0])
	}
	events := exportTable(t, exp, "events")
	for _, e := range events {
		if e["user_id"] != "alice" || e["application"] != "CRM" || (e["device"] != "ALICE-PC" && e["device"] != "SHARED-1") {
			t.Fatalf("event %v", e)
		}
		if s, _ := e["url"].(string); strings.Contains(s, "/b") {
			t.Fatalf("bob's event exported: %v", e)
		}
		if _, err := time.Parse(time.RFC3339Nano, e["start_ms"].(string)); err != nil {
			t.Fatalf("start not a time: %v", e["start_ms"])
		}
	}
	for _, d := range exportTable(t, exp, tableDevices) {
		if d["public_ip"] != "198.51.100.77" || d["local_ips"] != `["10.9.8.7"]` {
			t.Errorf("device %v", d)
		}
		if d["last_user_id"] != nil && d["last_user_id"] != "alice" {
			t.Errorf("another user named in the export: %v", d)
		}
	}
	// Audited by keyed hash, never the name.
	audit, err := f.st.ListAudit(ctx, AuditQuery{Action: "data.user.export"})
	if err != nil || len(audit) != 1 || audit[0].Target != "user:"+f.kr.Index(indexUser, "alice") {
		t.Fatalf("audit %+v %v", audit, err)
	}
	if _, err := f.st.ExportUser(ctx, Actor{Name: "dpo"}, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func exportTable(t *testing.T, exp UserExport, name string) []map[string]any {
	t.Helper()
	for _, tb := range exp.Tables {
		if tb.Name == name {
			var out []map[string]any
			for _, r := range tb.Rows {
				m := map[string]any{}
				for i, c := range tb.Columns {
					m[c] = r[i]
				}
				out = append(out, m)
			}
			return out
		}
	}
	t.Fatalf("no table %s in export", name)
	return nil
}

func TestExportFindsHashedUserByClearName(t *testing.T) {
	f := newDM(t)
	p := f.kr.Pseudonym(indexUser, "carol")
	f.report(t, "C-PC", p, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), 2, "https://crm.example.com/c")
	exp, err := f.st.ExportUser(context.Background(), Actor{Name: "dpo"}, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Rows("events") != 2 || exportTable(t, exp, tableUsers)[0]["name"] != p {
		t.Fatalf("export %+v", exp)
	}
}

// rollupSnapshot reads every rollup table in a canonical order.
func rollupSnapshot(t *testing.T, st *Store) map[string][][]any {
	t.Helper()
	out := map[string][][]any{}
	for table := range rollupTables {
		rows, err := st.r.Query("SELECT * FROM " + table + " ORDER BY 1, 2, 3, 4")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			if err := rows.Scan(p...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], v)
		}
		rows.Close()
	}
	return out
}

// assertRollupsExact checks the rollups equal a rebuild from the events left.
func assertRollupsExact(t *testing.T, st *Store) {
	t.Helper()
	before := rollupSnapshot(t, st)
	if err := st.RebuildRollups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := rollupSnapshot(t, st); !reflect.DeepEqual(before, after) {
		t.Fatalf("rollups differ from a rebuild:\nhave %v\nwant %v", before, after)
	}
}

func TestEraseUserLeavesNoTrace(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 23, 50, 0, 0, time.UTC) // crosses midnight: two rollup days
	aliceEvents := f.report(t, "ALICE-PC", "alice", base, 20, "https://crm.example.com/alice-secret")
	aliceEvents = append(aliceEvents, f.report(t, "SHARED-1", "alice", base, 3, "https://crm.example.com/alice-shared")...)
	f.report(t, "SHARED-1", "bob", base.Add(time.Hour), 4, "https://crm.example.com/bob")
	alice := f.userID(t, "alice")
	var nameEnc, upnEnc []byte
	if err := f.st.r.QueryRow("SELECT name_enc, upn_enc FROM users WHERE id = ?", alice).Scan(&nameEnc, &upnEnc); err != nil {
		t.Fatal(err)
	}
	needles := [][]byte{nameEnc, upnEnc, []byte("alice-secret"), []byte("alice-shared")}
	for _, id := range aliceEvents {
		needles = append(needles, id[:])
	}
	f.st.Checkpoint(ctx)
	raw := f.rawFiles(t)
	for _, n := range needles {
		if !bytes.Contains(raw, n) {
			t.Fatalf("control: %q not in the file before erasure", n)
		}
	}

	res, err := f.st.EraseUser(ctx, Actor{Name: "dpo"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if res.Subjects != 1 || res.Deleted["events"] != 23 || res.Deleted[tableUsers] != 1 || !res.Checkpointed {
		t.Fatalf("result %+v", res)
	}
	if res.Cleared[tableDevices] != 1 { // ALICE-PC's last user; SHARED-1's is bob
		t.Fatalf("cleared %+v", res.Cleared)
	}
	// No table refers to her any more.
	for table, cols := range userColumns(t, f.st) {
		if _, exempt := tablesWithoutSubjects[table]; exempt {
			continue
		}
		for _, c := range cols {
			if n := f.count(t, "SELECT count(*) FROM "+quoteIdent(table)+" WHERE "+quoteIdent(c)+" = ?", alice); n != 0 {
				t.Errorf("%s.%s still has %d rows about her", table, c, n)
			}
		}
	}
	if n := f.count(t, "SELECT count(*) FROM users WHERE id = ?", alice); n != 0 {
		t.Fatal("user row left")
	}
	if n := f.count(t, "SELECT count(*) FROM devices WHERE last_user_id = ?", alice); n != 0 {
		t.Fatal("device still names her")
	}
	// Her lookup hash remains only as the audit line of the request.
	hash := f.kr.Index(indexUser, "alice")
	names, _ := f.st.Tables(ctx)
	for _, table := range names {
		var cols []string
		f.st.r.Select(&cols, "SELECT name FROM pragma_table_info(?)", table)
		for _, c := range cols {
			n := f.count(t, "SELECT count(*) FROM "+quoteIdent(table)+" WHERE instr(CAST("+quoteIdent(c)+" AS TEXT), ?) > 0", hash)
			if n != 0 && !(table == "audit" && c == "target" && n == 1) {
				t.Errorf("%s.%s holds her lookup hash in %d rows", table, c, n)
			}
		}
	}
	// Nothing left in the bytes of the files either.
	raw = f.rawFiles(t)
	for _, n := range needles {
		if bytes.Contains(raw, n) {
			t.Errorf("%q still in the database files after erasure", n)
		}
	}
	// Bob is untouched, and the rollups are exact.
	if n := f.count(t, "SELECT count(*) FROM events WHERE user_id = ?", f.userID(t, "bob")); n != 4 {
		t.Fatalf("bob has %d events", n)
	}
	assertRollupsExact(t, f.st)
	if _, err := f.st.EraseUser(ctx, Actor{Name: "dpo"}, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second erasure: %v", err)
	}
	audit, _ := f.st.ListAudit(ctx, AuditQuery{Action: "data.user.delete"})
	if len(audit) != 2 {
		t.Fatalf("audit %+v", audit)
	}
}

func TestEraseDeviceByIDOrName(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f.report(t, "LAP-1", "alice", base, 3, "https://crm.example.com/x")
	f.report(t, "LAP-2", "alice", base, 2, "https://crm.example.com/y")
	res, err := f.st.EraseDevice(ctx, Actor{Name: "dpo"}, "lap-1") // name, any case
	if err != nil {
		t.Fatal(err)
	}
	if res.Subjects != 1 || res.Deleted["events"] != 3 || res.Deleted[tableDevices] != 1 {
		t.Fatalf("result %+v", res)
	}
	if _, err := f.st.EraseDevice(ctx, Actor{Name: "dpo"}, extID("LAP-2")); err != nil { // the extension's id
		t.Fatal(err)
	}
	if n := f.count(t, "SELECT count(*) FROM events"); n != 0 {
		t.Fatalf("%d events left", n)
	}
	if n := f.count(t, "SELECT count(*) FROM presence_devices"); n != 0 {
		t.Fatalf("%d presence rows left", n)
	}
	if n := f.count(t, "SELECT count(*) FROM users"); n != 1 {
		t.Fatal("the user is not the device's to delete")
	}
	assertRollupsExact(t, f.st)
	if _, err := f.st.EraseDevice(ctx, Actor{Name: "dpo"}, "LAP-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("again: %v", err)
	}
}

// openAll unseals every sealed value of the database.
func openAll(t *testing.T, f *dmFixture) []string {
	t.Helper()
	tables, err := schema(context.Background(), f.st.r)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tables {
		for _, c := range tb.Columns {
			aad, ok := sealedAAD(tb.Name, c)
			if !ok {
				continue
			}
			var vals [][]byte
			if err := f.st.r.Select(&vals, "SELECT "+c+" FROM "+tb.Name+" WHERE "+c+" IS NOT NULL"); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				s, err := f.kr.UnsealString(v, aad)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
		}
	}
	return out
}

func TestAnonymizeIsIrreversibleAndConsistent(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f.report(t, "ALICE-PC", "alice", base, 3, "https://crm.example.com/a")
	// The instance switched to hashed names before anonymizing: new data
	// already arrives under her pseudonym, and both records must become one.
	pa := f.kr.Pseudonym(indexUser, "alice")
	f.report(t, "ALICE-PC", pa, base.Add(time.Hour), 2, "https://crm.example.com/a2")
	f.report(t, "BOB-PC", "bob", base, 1, "https://crm.example.com/b")
	var oldName []byte
	f.st.r.QueryRow("SELECT name_enc FROM devices WHERE key = ?", f.kr.Index(indexDevice, extID("ALICE-PC"))).Scan(&oldName)

	a := Actor{Name: "dpo"}
	res, err := f.st.Anonymize(ctx, &a, true, true)
	if err != nil {
		t.Fatal(err)
	}
	// bob, alice's clear record (merged), and the clear UPN of her pseudonymous one.
	if res.Users != 3 || res.Merged != 1 || res.Devices != 2 {
		t.Fatalf("result %+v", res)
	}
	for _, v := range openAll(t, f) {
		l := strings.ToLower(v)
		for _, clear := range []string{"alice", "bob", "-pc", "198.51", "10.9"} {
			if strings.Contains(l, clear) {
				t.Errorf("stored value %q still holds %q", v, clear)
			}
		}
	}
	if n := f.count(t, "SELECT count(*) FROM users"); n != 2 {
		t.Fatalf("%d users, want alice's records merged", n)
	}
	alice := f.userID(t, pa)
	if n := f.count(t, "SELECT count(*) FROM events WHERE user_id = ?", alice); n != 5 {
		t.Fatalf("alice has %d events after merge", n)
	}
	assertRollupsExact(t, f.st)
	// Idempotent: a second pass changes nothing.
	if res, err := f.st.Anonymize(ctx, nil, true, true); err != nil || res.Users+res.Devices+res.Merged != 0 {
		t.Fatalf("second pass %+v %v", res, err)
	}
	if bytes.Contains(f.rawFiles(t), oldName) {
		t.Error("the old sealed device name is still in the files")
	}
	// Consistent: new data under the policy joins the same records, and the
	// clear name still finds them for a data-subject request.
	d := DeviceInfo{ExternalID: extID("ALICE-PC"), Name: "alice-pc", PublicIP: "198.51.100.77", LocalIPs: []string{"10.9.8.7"}}
	AnonymizeDevice(f.kr, &d)
	if d.PublicIP != "" || d.LocalIPs != nil || d.Name != f.kr.Pseudonym(indexDevice, "alice-pc") {
		t.Fatalf("AnonymizeDevice gave %+v", d)
	}
	var stored []byte
	f.st.r.QueryRow("SELECT name_enc FROM devices WHERE key = ?", f.kr.Index(indexDevice, extID("ALICE-PC"))).Scan(&stored)
	if name, _ := f.kr.UnsealString(stored, aadDeviceName); name != d.Name {
		t.Fatalf("stored device name %q, new data would say %q", name, d.Name)
	}
	f.report(t, "X", pa, base.Add(2*time.Hour), 1, "https://crm.example.com/a3")
	if n := f.count(t, "SELECT count(*) FROM users"); n != 2 {
		t.Fatal("new data under the pseudonym made a new user")
	}
	exp, err := f.st.ExportUser(ctx, a, "alice")
	if err != nil || exp.Rows("events") != 6 {
		t.Fatalf("export by clear name after anonymization: %d events, %v", exp.Rows("events"), err)
	}
	if ids, err := f.st.findDevices(ctx, f.st.r, "ALICE-PC"); err != nil || len(ids) != 1 {
		t.Fatalf("device by clear name: %v %v", ids, err)
	}
}

func TestResealUnderNewDataKey(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	f.report(t, "ALICE-PC", "alice", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), 3, "https://crm.example.com/a")
	old := f.kr.ActiveKeyID()
	var oldName []byte
	f.st.r.QueryRow("SELECT name_enc FROM users").Scan(&oldName)
	if _, err := f.kr.AddDataKey(); err != nil {
		t.Fatal(err)
	}
	stale := func(v []byte) bool { id, ok := keys.KeyIDOf(v); return ok && id != f.kr.ActiveKeyID() }
	counts, err := f.st.Reseal(ctx, stale, 1)
	if err != nil {
		t.Fatal(err)
	}
	// users: name, upn; devices: ext_id, name, public_ip, local_ips.
	want := map[string]int64{"users.name": 1, "users.upn": 1, "devices.ext_id": 1, "devices.name": 1, "devices.public_ip": 1, "devices.local_ips": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("resealed %v, want %v", counts, want)
	}
	left, err := f.st.CountSealed(ctx, stale)
	if err != nil || len(left) != 0 {
		t.Fatalf("left under the old key: %v %v", left, err)
	}
	if err := f.kr.RemoveDataKey(old); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(f.rawFiles(t), oldName) {
		t.Error("the value sealed under the old key is still in the files")
	}
	// A fresh keyring from the directory (without the old key) reads everything.
	kr2, err := keys.Open(f.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	f.kr = kr2
	if vals := openAll(t, f); !slices.Contains(vals, "alice") {
		t.Fatalf("values %v", vals)
	}
}

func TestAnotherInstancesKeyCannotReadTheDatabase(t *testing.T) {
	f := newDM(t)
	f.report(t, "ALICE-PC", "alice", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), 1, "https://crm.example.com/a")
	f.st.Checkpoint(context.Background())
	raw := bytes.ToLower(f.rawFiles(t))
	for _, clear := range []string{"alice", "alice-pc", "198.51.100.77", "10.9.8.7", extID("ALICE-PC")} {
		if bytes.Contains(raw, []byte(clear)) {
			t.Errorf("%q readable in the database file", clear)
		}
	}
	other, err := keys.Open(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	f.st.r.QueryRow("SELECT name_enc FROM users").Scan(&sealed)
	if _, err := other.UnsealString(sealed, aadUserName); !errors.Is(err, keys.ErrAuth) && !errors.Is(err, keys.ErrUnknownKey) {
		t.Fatalf("another instance's key: %v", err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	f := newDM(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f.report(t, "A", "alice", base, 100, "https://crm.example.com/a")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f.report(t, fmt.Sprintf("D%d", i%5), "bob", base.Add(time.Duration(i)*time.Hour), 10, "https://crm.example.com/b")
		}
	})
	dest := filepath.Join(t.TempDir(), "backup.db")
	size, err := Backup(ctx, f.st.Path(), dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dest)
	if err != nil || st.Size() != size || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file %v %v", st, err)
	}
	restored, err := Open(ctx, dest, f.kr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	exp, err := restored.ExportUser(ctx, Actor{Name: "t"}, "alice")
	if err != nil || exp.Rows("events") != 100 {
		t.Fatalf("restored copy: %d events, %v", exp.Rows("events"), err)
	}
	if _, err := Backup(ctx, f.st.Path(), dest); err == nil {
		t.Fatal("backup over an existing file")
	}
	if _, err := Backup(ctx, filepath.Join(f.dir, "missing.db"), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Fatal("backup of a missing database")
	}
}
