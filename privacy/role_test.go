package privacy

import (
	"errors"
	"strings"
	"testing"

	"webusage/org"
)

func testOrg(t testing.TB) *org.Organization {
	t.Helper()
	o, err := org.Compile(org.Ruleset{Entities: []org.Entity{
		{Name: "Lausanne", Classifications: map[string]string{"Country": "Switzerland", "Region": "Europe"}},
		{Name: "Zurich", Classifications: map[string]string{"Country": "Switzerland", "Region": "Europe"}},
		{Name: "Tokyo", Classifications: map[string]string{"Country": "Japan", "Region": "Asia"}},
		{Name: "Lab"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var allVisible = DataPrivacy{Users: Visible, Devices: Visible, Destinations: Visible}
var allHidden = DataPrivacy{Users: Hidden, Devices: Hidden, Destinations: Hidden}

func full() *ViewDomain { return &ViewDomain{Access: AccessFull} }
func byEntities(e ...string) *ViewDomain {
	return &ViewDomain{Access: AccessLimited, Entities: e}
}
func byClass(c string, v ...string) *ViewDomain {
	return &ViewDomain{Access: AccessLimited, Classification: c, Values: v}
}

func mainRole(name string, vd *ViewDomain, p DataPrivacy, perms ...Permission) Role {
	return Role{Name: name, Type: MainRole, ViewDomain: vd, Privacy: p, Permissions: perms}
}

func addRole(name string, p DataPrivacy, perms ...Permission) Role {
	return Role{Name: name, Type: AdditionalRole, Privacy: p, Permissions: perms}
}

func TestRoleValidateRefusals(t *testing.T) {
	o := testOrg(t)
	analyst := mainRole("Analyst", byEntities("Lausanne"), allHidden, ViewWebUsage)
	with := func(f func(r *Role)) Role {
		r := analyst
		r.ViewDomain = &ViewDomain{Access: AccessLimited, Entities: []string{"Lausanne"}}
		f(&r)
		return r
	}
	tests := []struct {
		name  string
		r     Role
		o     *org.Organization
		field string
		msg   string
	}{
		{"empty name", with(func(r *Role) { r.Name = "" }), o, "name", "required"},
		{"long name", with(func(r *Role) { r.Name = strings.Repeat("x", MaxRoleNameLen+1) }), o, "name", "at most"},
		{"control in name", with(func(r *Role) { r.Name = "a\x00b" }), o, "name", "control"},
		{"spaces around name", with(func(r *Role) { r.Name = "Analyst " }), o, "name", "spaces"},
		{"bad type", with(func(r *Role) { r.Type = "Main" }), o, "type", "main"},
		{"empty type", with(func(r *Role) { r.Type = "" }), o, "type", "main"},
		{"main without view domain", with(func(r *Role) { r.ViewDomain = nil }), o, "view_domain", "required"},
		{"additional with view domain", with(func(r *Role) { r.Type = AdditionalRole }), o, "view_domain", "additional role has no view domain"},
		{"bad access", with(func(r *Role) { r.ViewDomain.Access = "some" }), o, "view_domain.access", "full"},
		{"full with entities", with(func(r *Role) { r.ViewDomain.Access = AccessFull }), o, "view_domain", "full view domain lists no"},
		{"full with classification", with(func(r *Role) { r.ViewDomain = &ViewDomain{Access: AccessFull, Classification: "Region"} }), o, "view_domain", "full view domain lists no"},
		{"limited with nothing", with(func(r *Role) { r.ViewDomain.Entities = nil }), o, "view_domain", "needs entities"},
		{"limited with both", with(func(r *Role) { r.ViewDomain.Classification, r.ViewDomain.Values = "Region", []string{"Europe"} }), o, "view_domain", "not both"},
		{"values without classification", with(func(r *Role) { r.ViewDomain = &ViewDomain{Access: AccessLimited, Values: []string{"Europe"}} }), o, "view_domain.classification", "required"},
		{"classification without values", with(func(r *Role) { r.ViewDomain = byClass("Region") }), o, "view_domain.values", "at least one"},
		{"n/a entity", with(func(r *Role) { r.ViewDomain.Entities = []string{"Lausanne", "n/a"} }), o, "view_domain.entities[1]", "full view domain"},
		{"duplicate entity", with(func(r *Role) { r.ViewDomain.Entities = []string{"Lausanne", "Zurich", "Lausanne"} }), o, "view_domain.entities[2]", "duplicate"},
		{"deleted entity", with(func(r *Role) { r.ViewDomain.Entities = []string{"Lausanne", "Geneva"} }), o, "view_domain.entities[1]", "does not exist"},
		{"entity wrong case", with(func(r *Role) { r.ViewDomain.Entities = []string{"lausanne"} }), o, "view_domain.entities[0]", "does not exist"},
		{"entity with nil org", analyst, nil, "view_domain.entities[0]", "does not exist"},
		{"unknown classification", with(func(r *Role) { r.ViewDomain = byClass("Site", "HQ") }), o, "view_domain.classification", "does not exist"},
		{"deleted value", with(func(r *Role) { r.ViewDomain = byClass("Region", "Europe", "Americas") }), o, "view_domain.values[1]", "no entity has Region"},
		{"value of other classification", with(func(r *Role) { r.ViewDomain = byClass("Region", "Japan") }), o, "view_domain.values[0]", "no entity"},
		{"duplicate value", with(func(r *Role) { r.ViewDomain = byClass("Region", "Europe", "Europe") }), o, "view_domain.values[1]", "duplicate"},
		{"empty privacy", with(func(r *Role) { r.Privacy.Devices = "" }), o, "privacy.devices", "visible"},
		{"bad privacy", with(func(r *Role) { r.Privacy.Destinations = "Visible" }), o, "privacy.destinations", "visible"},
		{"unknown permission", with(func(r *Role) { r.Permissions = []Permission{ViewWebUsage, "superuser"} }), o, "permissions[1]", "unknown permission"},
		{"duplicate permission", with(func(r *Role) { r.Permissions = []Permission{ViewWebUsage, ExportWebUsage, ViewWebUsage} }), o, "permissions[2]", "duplicate"},
		{"data management without admin", mainRole("DM", full(), allVisible, ViewWebUsage, DataManagement), o, "permissions[1]", "requires administrator"},
		{"data management without admin (additional)", addRole("DM", allVisible, DataManagement), o, "permissions[0]", "requires administrator"},
		{"admin with limited domain", with(func(r *Role) { r.Permissions = []Permission{Administrator} }), o, "permissions[0]", "requires a full view domain"},
		{"manage applications with limited domain", with(func(r *Role) { r.Permissions = []Permission{ViewWebUsage, ManageApplications} }), o, "permissions[1]", "requires a full view domain"},
		{"admin with classification domain", mainRole("A", byClass("Region", "Europe"), allVisible, Administrator), o, "permissions[0]", "full view domain"},
		{"negative k", with(func(r *Role) { r.MinGroupSize = -1 }), o, "min_group_size", "between"},
		{"huge k", with(func(r *Role) { r.MinGroupSize = MaxMinGroupSize + 1 }), o, "min_group_size", "between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate(tt.o)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Message, tt.msg) {
				t.Fatalf("got %q: %q; want field %q, message containing %q", fe.Field, fe.Message, tt.field, tt.msg)
			}
		})
	}
}

func TestRoleValidateAccepts(t *testing.T) {
	o := testOrg(t)
	for _, r := range []Role{
		BuiltinAdminRole(),
		mainRole("Admin", full(), allHidden, Administrator, DataManagement, ManageApplications),
		mainRole("EU", byClass("Region", "Europe"), allHidden, ViewWebUsage, ExportWebUsage),
		mainRole("Two sites", byEntities("Lausanne", "Lab"), DataPrivacy{Users: Hidden, Devices: Visible, Destinations: Hidden}, ViewWebUsage),
		mainRole("Nothing", full(), allHidden),
		addRole("See users", DataPrivacy{Users: Visible, Devices: Hidden, Destinations: Hidden}),
		addRole("Admins extra", allHidden, Administrator, DataManagement), // legal on its own; Resolve checks the account
		{Name: "k", Type: MainRole, ViewDomain: full(), Privacy: allHidden, MinGroupSize: 5},
	} {
		if err := r.Validate(o); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
	// A full domain needs no organization.
	if err := BuiltinAdminRole().Validate(nil); err != nil {
		t.Error(err)
	}
}

func TestRoleBecomesInvalidWhenEntityDeleted(t *testing.T) {
	o := testOrg(t)
	r := mainRole("LS", byEntities("Lausanne"), allHidden, ViewWebUsage)
	if err := r.Validate(o); err != nil {
		t.Fatal(err)
	}
	rs := o.Ruleset()
	rs.Entities = rs.Entities[1:] // delete Lausanne
	o2, err := org.Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(o2); err == nil {
		t.Fatal("a role pointing to a deleted entity validated")
	}
	// Same for a classification value that no entity carries any more.
	rc := mainRole("Asia", byClass("Region", "Asia"), allHidden, ViewWebUsage)
	if err := rc.Validate(o); err != nil {
		t.Fatal(err)
	}
	rs = o.Ruleset()
	rs.Entities[2].Classifications["Region"] = "Europe" // Tokyo moves; no entity is in Asia
	o3, err := org.Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Validate(o3); err == nil {
		t.Fatal("a role pointing to a vanished classification value validated")
	}
}

func TestErrorsNeverEchoLongInput(t *testing.T) {
	long := "https://crm.example.com/" + strings.Repeat("a", 200) + "?token=SECRET"
	r := mainRole("X", byEntities(long), allHidden)
	err := r.Validate(testOrg(t))
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("Validate = %v", err)
	}
	err = FullAccess().RequireVisible(long)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("RequireVisible = %v", err)
	}
}
