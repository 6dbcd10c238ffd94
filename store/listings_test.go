package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"webusage/keys"
	"webusage/org"
	"webusage/privacy"
	"webusage/store"
	"webusage/webapps"
)

// listingFixture is a real store with three entities and devices that move.
type listingFixture struct {
	st  *store.Store
	org *org.Organization
	app int64
	seq byte
}

func newListingFixture(t *testing.T) *listingFixture {
	t.Helper()
	dir := t.TempDir()
	kr, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "t.db"), kr, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o, err := org.Compile(org.Ruleset{Entities: []org.Entity{
		{Name: "Lausanne", Classifications: map[string]string{"Region": "Europe"}},
		{Name: "Zurich", Classifications: map[string]string{"Region": "Europe"}},
		{Name: "Tokyo", Classifications: map[string]string{"Region": "Asia"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApplication(context.Background(), store.Actor{Name: "test"},
		webapps.Application{Name: "CRM", Patterns: []string{"crm.example.com/*"}})
	if err != nil {
		t.Fatal(err)
	}
	return &listingFixture{st: st, org: o, app: app.ID}
}

// report stores one event of device on entity at start, for user (none when empty).
func (f *listingFixture) report(t *testing.T, device, entity, user string, start time.Time) {
	t.Helper()
	f.seq++
	b := &store.IngestBatch{
		Device: store.DeviceInfo{ExternalID: "id-" + device, Name: device, PublicIP: "198.51.100." + fmt.Sprint(f.seq),
			LocalIPs: []string{"10.9.9." + fmt.Sprint(f.seq)}, Entity: entity, LocationType: "remote", City: "City-" + entity},
		Browser: "chrome",
		Events: []store.IngestEvent{{ID: [16]byte{f.seq, 0xee}, AppID: f.app, StartMs: start.UnixMilli(), DurationMs: 60_000,
			Entity: entity}},
	}
	if user != "" {
		b.User = &store.UserInfo{Name: user, UPN: user + "@corp.example"}
	}
	if _, err := f.st.Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func scopeOf(t *testing.T, o *org.Organization, domain privacy.ViewDomain, p privacy.DataPrivacy) store.Scope {
	t.Helper()
	a, err := privacy.Resolve(privacy.Role{Name: "r", Type: privacy.MainRole, ViewDomain: &domain, Privacy: p,
		Permissions: []privacy.Permission{privacy.ViewWebUsage}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return store.Scope{Access: a, Org: o}
}

var allVisible = privacy.DataPrivacy{Users: privacy.Visible, Devices: privacy.Visible, Destinations: privacy.Visible}

// column returns the values of column name, failing when it is absent.
func column(t *testing.T, tab store.Table, name string) []any {
	t.Helper()
	i := slices.Index(tab.Columns, name)
	if i < 0 {
		t.Fatalf("no column %q in %v", name, tab.Columns)
	}
	out := make([]any, len(tab.Rows))
	for j, r := range tab.Rows {
		out[j] = r[i]
	}
	return out
}

func TestDevicesFollowTheirCurrentEntity(t *testing.T) {
	f := newListingFixture(t)
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	f.report(t, "LAU-1", "Lausanne", "ana", t0)
	f.report(t, "MOVER", "Lausanne", "bob", t0)
	f.report(t, "MOVER", "Tokyo", "bob", t0.Add(time.Minute)) // moved: now Tokyo
	f.report(t, "LOST", org.Unassigned, "cid", t0)
	ctx := context.Background()

	lausanne := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessLimited, Entities: []string{"Lausanne"}}, allVisible)
	tab, next, err := f.st.Devices(ctx, lausanne, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "device"); !slices.Equal(got, []any{"LAU-1"}) || next != "" {
		t.Fatalf("Lausanne sees devices %v (next %q), want only LAU-1", got, next)
	}
	if got := column(t, tab, "public_ip")[0]; got != "198.51.100.1" {
		t.Errorf("public_ip = %v", got)
	}
	if got := column(t, tab, "local_ips")[0]; !slices.Equal(got.([]string), []string{"10.9.9.1"}) {
		t.Errorf("local_ips = %v", got)
	}
	// Its past events stay in Lausanne: events keep their entity.
	u, err := f.st.Usage(ctx, lausanne, store.UsageQuery{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), GroupBy: []string{"device"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, u, "device"); len(got) != 2 || !slices.Contains(got, "MOVER") {
		t.Errorf("Lausanne usage by device = %v, want LAU-1 and MOVER's past event", got)
	}

	region := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessLimited, Classification: "Region", Values: []string{"Asia"}}, allVisible)
	tab, _, err = f.st.Devices(ctx, region, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "device"); !slices.Equal(got, []any{"MOVER"}) {
		t.Errorf("Region=Asia sees %v, want MOVER", got)
	}
	if got := column(t, tab, "entity"); !slices.Equal(got, []any{"Tokyo"}) {
		t.Errorf("MOVER's entity = %v, want its current one", got)
	}

	full := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessFull}, allVisible)
	tab, _, err = f.st.Devices(ctx, full, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "device"); !slices.Equal(got, []any{"LAU-1", "MOVER", "LOST"}) {
		t.Errorf("full domain sees %v, want every device including n/a", got)
	}
	tab, _, err = f.st.Devices(ctx, full, store.ListQuery{Filters: map[string][]string{"entity": {org.Unassigned}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "device"); !slices.Equal(got, []any{"LOST"}) {
		t.Errorf("full domain, entity=n/a: %v", got)
	}
	// A limited domain filtering on another entity or n/a gets nothing.
	for _, e := range []string{"Tokyo", org.Unassigned} {
		tab, _, err = f.st.Devices(ctx, lausanne, store.ListQuery{Filters: map[string][]string{"entity": {e}}})
		if err != nil || len(tab.Rows) != 0 {
			t.Errorf("Lausanne filtering entity=%s: %v rows, err %v", e, len(tab.Rows), err)
		}
	}
}

func TestUsersVisibleOnlyWhenReportedInsideTheDomain(t *testing.T) {
	f := newListingFixture(t)
	t0 := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	f.report(t, "LAU-1", "Lausanne", "ana", t0)
	f.report(t, "TOK-1", "Tokyo", "ana", t0.Add(2*time.Hour)) // later, out of Lausanne's domain
	f.report(t, "TOK-2", "Tokyo", "ken", t0)
	f.report(t, "LOST", org.Unassigned, "nobody", t0)
	ctx := context.Background()

	lausanne := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessLimited, Entities: []string{"Lausanne"}}, allVisible)
	tab, _, err := f.st.Users(ctx, lausanne, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "user"); !slices.Equal(got, []any{"ana"}) {
		t.Fatalf("Lausanne sees users %v, want ana only", got)
	}
	if got := column(t, tab, "upn")[0]; got != "ana@corp.example" {
		t.Errorf("upn = %v", got)
	}
	// Out-of-domain activity never counts: one device, last seen in Lausanne.
	if got := column(t, tab, "devices")[0]; got != int64(1) {
		t.Errorf("devices = %v, want 1 (TOK-1 is outside the domain)", got)
	}
	if got, want := column(t, tab, "last_seen")[0], t0.Add(time.Minute).UTC().Format(time.RFC3339Nano); got != want {
		t.Errorf("last_seen = %v, want %v (the Tokyo event must not show)", got, want)
	}

	full := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessFull}, allVisible)
	tab, _, err = f.st.Users(ctx, full, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "user"); !slices.Equal(got, []any{"ana", "ken", "nobody"}) {
		t.Errorf("full domain sees %v", got)
	}
	if got := column(t, tab, "devices")[0]; got != int64(2) {
		t.Errorf("full domain: ana's devices = %v, want 2", got)
	}
	tab, _, err = f.st.Users(ctx, full, store.ListQuery{Filters: map[string][]string{"classification.Region": {"Asia"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "user"); !slices.Equal(got, []any{"ana", "ken"}) {
		t.Errorf("Region=Asia filter: %v", got)
	}
	tab, _, err = f.st.Users(ctx, lausanne, store.ListQuery{Filters: map[string][]string{"user": {"ken"}}})
	if err != nil || len(tab.Rows) != 0 {
		t.Errorf("Lausanne filtering user=ken: %d rows, err %v", len(tab.Rows), err)
	}

	// Devices hidden: the per-user device count goes too.
	noDevices := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessFull},
		privacy.DataPrivacy{Users: privacy.Visible, Devices: privacy.Hidden, Destinations: privacy.Hidden})
	tab, _, err = f.st.Users(ctx, noDevices, store.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(tab.Columns, "devices") {
		t.Errorf("devices count shown with devices hidden: %v", tab.Columns)
	}
}

func TestListingsRefuseHiddenClasses(t *testing.T) {
	f := newListingFixture(t)
	f.report(t, "LAU-1", "Lausanne", "ana", time.Now().Add(-time.Hour))
	ctx := context.Background()
	full := privacy.ViewDomain{Access: privacy.AccessFull}
	hidden := func(err error, field string) {
		t.Helper()
		var qe *store.QueryError
		if !errors.As(err, &qe) || !qe.Hidden || qe.Field != field {
			t.Errorf("err = %v, want hidden field %q", err, field)
		}
	}
	usersHidden := scopeOf(t, f.org, full, privacy.DataPrivacy{Users: privacy.Hidden, Devices: privacy.Visible, Destinations: privacy.Visible})
	_, _, err := f.st.Users(ctx, usersHidden, store.ListQuery{})
	hidden(err, "user")
	_, _, err = f.st.Devices(ctx, usersHidden, store.ListQuery{Filters: map[string][]string{"user": {"ana"}}})
	hidden(err, "user")
	devicesHidden := scopeOf(t, f.org, full, privacy.DataPrivacy{Users: privacy.Visible, Devices: privacy.Hidden, Destinations: privacy.Visible})
	_, _, err = f.st.Devices(ctx, devicesHidden, store.ListQuery{})
	hidden(err, "device")
	_, _, err = f.st.Users(ctx, devicesHidden, store.ListQuery{Filters: map[string][]string{"public_ip": {"198.51.100.1"}}})
	hidden(err, "public_ip")

	// Visible but not a filter of the listing: refused by name, not ignored.
	all := scopeOf(t, f.org, full, allVisible)
	var qe *store.QueryError
	if _, _, err = f.st.Devices(ctx, all, store.ListQuery{Filters: map[string][]string{"url": {"x"}}}); !errors.As(err, &qe) || qe.Field != "url" || qe.Hidden {
		t.Errorf("filter on url: %v", err)
	}
	if _, _, err = f.st.Devices(ctx, all, store.ListQuery{Cursor: "not a cursor"}); !errors.As(err, &qe) || qe.Field != "cursor" {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestListingPagesAndForeignCursors(t *testing.T) {
	f := newListingFixture(t)
	t0 := time.Now().Add(-time.Hour)
	names := []string{"TOK-1", "LAU-1", "TOK-2", "LAU-2", "TOK-3", "LAU-3"}
	for i, n := range names {
		e := "Tokyo"
		if i%2 == 1 {
			e = "Lausanne"
		}
		f.report(t, n, e, "user-"+n, t0)
	}
	ctx := context.Background()
	full := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessFull}, allVisible)
	lausanne := scopeOf(t, f.org, privacy.ViewDomain{Access: privacy.AccessLimited, Entities: []string{"Lausanne"}}, allVisible)

	walk := func(sc store.Scope, list func(context.Context, store.Scope, store.ListQuery) (store.Table, string, error), col string) []any {
		var got []any
		cursor := ""
		for range 20 {
			tab, next, err := list(ctx, sc, store.ListQuery{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, column(t, tab, col)...)
			if next == "" {
				return got
			}
			cursor = next
		}
		t.Fatal("pagination does not end")
		return nil
	}
	if got := walk(full, f.st.Devices, "device"); len(got) != len(names) {
		t.Errorf("full walk: %v", got)
	}
	if got := walk(lausanne, f.st.Devices, "device"); !slices.Equal(got, []any{"LAU-1", "LAU-2", "LAU-3"}) {
		t.Errorf("Lausanne walk: %v", got)
	}
	if got := walk(lausanne, f.st.Users, "user"); !slices.Equal(got, []any{"user-LAU-1", "user-LAU-2", "user-LAU-3"}) {
		t.Errorf("Lausanne user walk: %v", got)
	}
	// A cursor taken by the full-domain account does not widen Lausanne's view.
	_, next, err := f.st.Devices(ctx, full, store.ListQuery{Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, err %v", next, err)
	}
	tab, _, err := f.st.Devices(ctx, lausanne, store.ListQuery{Cursor: next})
	if err != nil {
		t.Fatal(err)
	}
	if got := column(t, tab, "device"); !slices.Equal(got, []any{"LAU-1", "LAU-2", "LAU-3"}) {
		t.Errorf("Lausanne with the full account's cursor: %v", got)
	}
}
