package privacy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"webusage/org"
)

func TestResolveRefusals(t *testing.T) {
	limited := mainRole("Lausanne analysts", byEntities("Lausanne"), allHidden, ViewWebUsage)
	tests := []struct {
		name       string
		main       Role
		additional []Role
		field      string
		msg        string
	}{
		{"additional as main", addRole("Extra", allVisible), nil, "main_role", "not a main role"},
		{"main as additional", limited, []Role{mainRole("Other", full(), allVisible)}, "additional_roles[0]", "not an additional role"},
		{"admin via additional on limited", limited, []Role{addRole("See", allVisible), addRole("Admins", allHidden, Administrator)}, "additional_roles[1]", "administrator, which requires a full view domain"},
		{"manage apps via additional on limited", mainRole("EU", byClass("Region", "Europe"), allHidden), []Role{addRole("Apps", allHidden, ManageApplications)}, "additional_roles[0]", "manage_applications"},
		{"admin on limited main", mainRole("Bad", byEntities("Lausanne"), allHidden, Administrator), nil, "main_role", "requires a full view domain"},
		{"main without domain", mainRole("Bad", nil, allHidden), nil, "main_role", "view_domain: required"},
		{"main with bad privacy", mainRole("Bad", full(), DataPrivacy{Users: "yes", Devices: Hidden, Destinations: Hidden}), nil, "main_role", "privacy.users"},
		{"additional with unknown permission", limited, []Role{addRole("X", allHidden, "root")}, "additional_roles[0]", "unknown permission"},
		{"additional with data management only", mainRole("A", full(), allHidden, Administrator), []Role{addRole("DM", allHidden, DataManagement)}, "additional_roles[0]", "requires administrator"},
		{"additional with view domain", limited, []Role{{Name: "X", Type: AdditionalRole, ViewDomain: full(), Privacy: allVisible}}, "additional_roles[0]", "no view domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Resolve(tt.main, tt.additional)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Resolve = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Message, tt.msg) {
				t.Fatalf("got %q: %q; want field %q, message containing %q", fe.Field, fe.Message, tt.field, tt.msg)
			}
			if !reflect.DeepEqual(a, Access{}) {
				t.Fatal("a refused resolution returned non-zero access")
			}
		})
	}
}

func TestResolveUnion(t *testing.T) {
	main := mainRole("Analyst", byEntities("Lausanne"), DataPrivacy{Users: Hidden, Devices: Visible, Destinations: Hidden}, ViewWebUsage)
	main.MinGroupSize = 3
	seeUsers := addRole("See users", DataPrivacy{Users: Visible, Devices: Hidden, Destinations: Hidden}, ExportWebUsage)
	hideAll := addRole("Audit", allHidden, ViewAuditLog)
	hideAll.MinGroupSize = 5

	tests := []struct {
		name       string
		additional []Role
		visible    map[Class]bool
		perms      []Permission
		k          int
	}{
		{"main only", nil, map[Class]bool{Users: false, Devices: true, Destinations: false}, []Permission{ViewWebUsage}, 3},
		{"grant users and export", []Role{seeUsers}, map[Class]bool{Users: true, Devices: true, Destinations: false}, []Permission{ViewWebUsage, ExportWebUsage}, 3},
		// An additional role hiding devices does not hide what the main role shows.
		{"hidden never takes away", []Role{hideAll}, map[Class]bool{Users: false, Devices: true, Destinations: false}, []Permission{ViewWebUsage, ViewAuditLog}, 5},
		{"all together", []Role{hideAll, seeUsers}, map[Class]bool{Users: true, Devices: true, Destinations: false}, []Permission{ViewWebUsage, ExportWebUsage, ViewAuditLog}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Resolve(main, tt.additional)
			if err != nil {
				t.Fatal(err)
			}
			for c, vis := range tt.visible {
				if a.Hidden(c) == vis {
					t.Errorf("Hidden(%s) = %v, want %v", c, a.Hidden(c), !vis)
				}
			}
			if got := a.Permissions(); !reflect.DeepEqual(got, tt.perms) {
				t.Errorf("Permissions() = %v, want %v", got, tt.perms)
			}
			for _, p := range AllPermissions() {
				want := false
				for _, q := range tt.perms {
					want = want || p == q
				}
				if a.Can(p) != want {
					t.Errorf("Can(%s) = %v", p, !want)
				}
			}
			if a.MinGroupSize() != tt.k {
				t.Errorf("MinGroupSize() = %d, want %d", a.MinGroupSize(), tt.k)
			}
			// The view domain always comes from the main role.
			if a.FullDomain() || !reflect.DeepEqual(a.ViewDomain().Entities, []string{"Lausanne"}) {
				t.Errorf("view domain %+v is not the main role's", a.ViewDomain())
			}
		})
	}
}

func TestResolveAdminViaAdditionalOnFullDomain(t *testing.T) {
	a, err := Resolve(mainRole("All", full(), allHidden, ViewWebUsage), []Role{addRole("Admins", allHidden, Administrator, DataManagement)})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Can(Administrator) || !a.Can(DataManagement) || !a.FullDomain() {
		t.Fatalf("got %v", a.Permissions())
	}
}

func TestResolveCopiesRoles(t *testing.T) {
	main := mainRole("Analyst", byEntities("Lausanne", "Zurich"), allHidden, ViewWebUsage)
	a, err := Resolve(main, nil)
	if err != nil {
		t.Fatal(err)
	}
	main.ViewDomain.Entities[0] = "Tokyo"
	main.Permissions[0] = Administrator
	vd := a.ViewDomain()
	vd.Entities[1] = "Tokyo"
	if got, _ := a.AllowedEntities(nil); !reflect.DeepEqual(got, []string{"Lausanne", "Zurich"}) {
		t.Fatalf("Access changed with its inputs: %v", got)
	}
	if a.Can(Administrator) {
		t.Fatal("Access changed with its inputs")
	}
}

func TestAllowedEntities(t *testing.T) {
	o := testOrg(t)
	resolve := func(vd *ViewDomain) Access {
		a, err := Resolve(mainRole("R", vd, allHidden, ViewWebUsage), nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name   string
		a      Access
		o      *org.Organization
		want   []string
		full   bool
		inNA   bool
		inLaus bool
	}{
		{"full", resolve(full()), o, nil, true, true, true},
		{"full admin", FullAccess(), o, nil, true, true, true},
		{"entities, sorted", resolve(byEntities("Zurich", "Lausanne")), o, []string{"Lausanne", "Zurich"}, false, false, true},
		{"entity deleted from org keeps its past events", resolve(byEntities("Geneva")), o, []string{"Geneva"}, false, false, false},
		{"classification", resolve(byClass("Region", "Europe")), o, []string{"Lausanne", "Zurich"}, false, false, true},
		{"classification, several values", resolve(byClass("Country", "Japan", "Switzerland")), o, []string{"Lausanne", "Tokyo", "Zurich"}, false, false, true},
		{"classification, value gone", resolve(byClass("Region", "Mars")), o, []string{}, false, false, false},
		{"classification, nil org", resolve(byClass("Region", "Europe")), nil, []string{}, false, false, false},
		{"zero access sees nothing", Access{}, o, []string{}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, full := tt.a.AllowedEntities(tt.o)
			if full != tt.full || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("AllowedEntities = %#v, %v; want %#v, %v", got, full, tt.want, tt.full)
			}
			if !full && got == nil {
				t.Fatal("a limited domain returned a nil list (callers would read it as no filter)")
			}
			if tt.a.InDomain(tt.o, org.Unassigned) != tt.inNA {
				t.Errorf("InDomain(n/a) = %v, want %v", !tt.inNA, tt.inNA)
			}
			if tt.a.InDomain(tt.o, "Lausanne") != tt.inLaus {
				t.Errorf("InDomain(Lausanne) = %v, want %v", !tt.inLaus, tt.inLaus)
			}
		})
	}
}

func TestAllowedEntitiesFollowClassificationChanges(t *testing.T) {
	a, err := Resolve(mainRole("EU", byClass("Region", "Europe"), allHidden, ViewWebUsage), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := testOrg(t)
	rs := o.Ruleset()
	rs.Entities[2].Classifications["Region"] = "Europe" // Tokyo joins Europe
	o2, err := org.Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.AllowedEntities(o2); !reflect.DeepEqual(got, []string{"Lausanne", "Tokyo", "Zurich"}) {
		t.Fatalf("got %v", got)
	}
}

func TestVisibility(t *testing.T) {
	a, err := Resolve(mainRole("R", full(), DataPrivacy{Users: Hidden, Devices: Visible, Destinations: Hidden}, ViewWebUsage), nil)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]bool{
		"user": false, "upn": false, "users": false, "user_id": false,
		"device": true, "public_ip": true, "devices": true,
		"url": false, "template": false, "host": false,
		"application": true, "entity": true, "classification.Region": true, "site": true,
		"nonsense": false, "": false,
	} {
		if got := a.Visible(field); got != want {
			t.Errorf("Visible(%q) = %v, want %v", field, got, want)
		}
		err := a.RequireVisible(field)
		if (err == nil) != want {
			t.Errorf("RequireVisible(%q) = %v", field, err)
		}
	}
	var he *HiddenFieldError
	if err := a.RequireVisible("user"); !errors.As(err, &he) || he.Field != "user" || he.Class != Users || err.Error() != `field "user" is hidden by your roles` {
		t.Errorf("RequireVisible(user) = %#v", err)
	}
	var fe *FieldError
	if err := a.RequireVisible("nonsense"); !errors.As(err, &fe) || fe.Field != "nonsense" || fe.Message != "unknown field" {
		t.Errorf("RequireVisible(nonsense) = %#v", err)
	}
	if got := a.VisibleFields([]string{"application", "user", "device", "url", "usage_ms", "users", "devices", "bogus"}); !reflect.DeepEqual(got, []string{"application", "device", "usage_ms", "devices"}) {
		t.Errorf("VisibleFields = %v", got)
	}
	if got := a.Privacy(); got != (DataPrivacy{Users: Hidden, Devices: Visible, Destinations: Hidden}) {
		t.Errorf("Privacy() = %+v", got)
	}
	if a.Hidden("") || !a.Hidden("weird") {
		t.Error("the empty class is never hidden; an unknown class always is")
	}
}

func TestZeroAndFullAccess(t *testing.T) {
	var zero Access
	for _, p := range AllPermissions() {
		if zero.Can(p) {
			t.Errorf("zero Access can %s", p)
		}
	}
	for _, c := range Classes() {
		if !zero.Hidden(c) {
			t.Errorf("zero Access sees %s", c)
		}
	}
	if zero.FullDomain() || zero.MinGroupSize() != 0 || len(zero.Permissions()) != 0 {
		t.Error("zero Access is not the most restrictive")
	}
	f := FullAccess()
	if !reflect.DeepEqual(f.Permissions(), AllPermissions()) || !f.FullDomain() || f.MinGroupSize() != 0 {
		t.Errorf("FullAccess = %+v", f)
	}
	for _, field := range Fields() {
		if !f.Visible(field) {
			t.Errorf("FullAccess hides %q", field)
		}
	}
	if f.Can("root") {
		t.Error("Can(unknown) = true")
	}
}

// TestResolveMatrix tries every combination of visibilities on a main role
// and two additional roles: a class is visible exactly when some role makes
// it visible, and never otherwise.
func TestResolveMatrix(t *testing.T) {
	priv := func(bits int) DataPrivacy {
		v := func(b int) Visibility {
			if bits&b != 0 {
				return Visible
			}
			return Hidden
		}
		return DataPrivacy{Users: v(1), Devices: v(2), Destinations: v(4)}
	}
	for m := range 8 {
		for x := range 8 {
			for y := range 8 {
				a, err := Resolve(mainRole("M", byEntities("Lausanne"), priv(m), ViewWebUsage),
					[]Role{addRole("X", priv(x)), addRole("Y", priv(y), ExportWebUsage)})
				if err != nil {
					t.Fatal(err)
				}
				union := m | x | y
				for i, c := range Classes() {
					if want := union&(1<<i) == 0; a.Hidden(c) != want {
						t.Fatalf("main %03b + %03b + %03b: Hidden(%s) = %v", m, x, y, c, a.Hidden(c))
					}
				}
				for _, f := range Fields() {
					c, _ := ClassOf(f)
					if a.Visible(f) != !a.Hidden(c) {
						t.Fatalf("Visible(%q) disagrees with Hidden(%q)", f, c)
					}
				}
			}
		}
	}
}

func TestFolds(t *testing.T) {
	withK := func(k int) Access {
		r := mainRole("R", full(), allHidden, ViewWebUsage)
		r.MinGroupSize = k
		a, err := Resolve(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		k, users int
		want     bool
	}{
		{0, 0, false}, {0, 1, false}, {1, 0, false}, {1, 1, false},
		{3, 0, true}, {3, 2, true}, {3, 3, false}, {3, 100, false},
	}
	for _, tt := range tests {
		if got := withK(tt.k).Folds(tt.users); got != tt.want {
			t.Errorf("k=%d Folds(%d) = %v, want %v", tt.k, tt.users, got, tt.want)
		}
	}
}
