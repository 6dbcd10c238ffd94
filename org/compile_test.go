package org

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func ent(name string, kv ...string) Entity {
	e := Entity{Name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		if e.Classifications == nil {
			e.Classifications = map[string]string{}
		}
		e.Classifications[kv[i]] = kv[i+1]
	}
	return e
}

func TestCompileRefusals(t *testing.T) {
	base := []Entity{ent("Lausanne", "Country", "Switzerland", "Region", "Europe"), ent("Zurich", "Country", "Switzerland")}
	many := func(n int) []Entity {
		out := make([]Entity, n)
		for i := range out {
			out[i] = ent(fmt.Sprintf("E%d", i))
		}
		return out
	}
	manyClasses := Entity{Name: "X", Classifications: map[string]string{}}
	for i := range MaxClassificationsPerEntity + 1 {
		manyClasses.Classifications[fmt.Sprintf("C%d", i)] = "v"
	}
	tests := []struct {
		name  string
		rs    Ruleset
		field string
		msg   string
	}{
		{"empty entity name", Ruleset{Entities: []Entity{ent("")}}, "entities[0].name", "must not be empty"},
		{"long entity name", Ruleset{Entities: []Entity{ent(strings.Repeat("x", MaxNameLen+1))}}, "entities[0].name", "at most"},
		{"spaces around name", Ruleset{Entities: []Entity{ent(" Lausanne")}}, "entities[0].name", "spaces"},
		{"control char", Ruleset{Entities: []Entity{ent("Lau\nsanne")}}, "entities[0].name", "control"},
		{"invalid utf8", Ruleset{Entities: []Entity{ent("Lau\xffsanne")}}, "entities[0].name", "UTF-8"},
		{"reserved n/a", Ruleset{Entities: []Entity{ent("n/a")}}, "entities[0].name", "reserved"},
		{"reserved N/A", Ruleset{Entities: []Entity{ent("N/A")}}, "entities[0].name", "reserved"},
		{"duplicate entity", Ruleset{Entities: []Entity{ent("A"), ent("B"), ent("A")}}, "entities[2].name", "duplicate"},
		{"duplicate entity by case", Ruleset{Entities: []Entity{ent("Lausanne"), ent("LAUSANNE")}}, "entities[1].name", "only in case"},
		{"too many entities", Ruleset{Entities: many(MaxEntities + 1)}, "entities", "at most"},
		{"too many classifications", Ruleset{Entities: []Entity{manyClasses}}, "entities[0].classifications", "at most"},
		{"empty classification name", Ruleset{Entities: []Entity{ent("A", "", "x")}}, `entities[0].classifications[""]`, "classification name"},
		{"comma in classification name", Ruleset{Entities: []Entity{ent("A", "Re,gion", "x")}}, `entities[0].classifications["Re,gion"]`, "classification name"},
		{"dot in classification name", Ruleset{Entities: []Entity{ent("A", "Re.gion", "x")}}, `entities[0].classifications["Re.gion"]`, "classification name"},
		{"empty classification value", Ruleset{Entities: []Entity{ent("A", "Region", "")}}, `entities[0].classifications["Region"]`, "must not be empty"},
		{"two values for one classification (case)", Ruleset{Entities: []Entity{ent("A", "Region", "Europe", "region", "Asia")}}, `entities[0].classifications["region"]`, "one value per classification"},
		{"classification spelled differently across entities", Ruleset{Entities: []Entity{ent("A", "Region", "Europe"), ent("B", "REGION", "Asia")}}, `entities[1].classifications["REGION"]`, "only in case"},
		{"value spelled differently across entities", Ruleset{Entities: []Entity{ent("A", "Region", "Europe"), ent("B", "Region", "europe")}}, `entities[1].classifications["Region"]`, "only in case"},
		{"rule without entity", Ruleset{Entities: base, Rules: []Rule{{DeviceName: "x"}}}, "rules[0].entity", "required"},
		{"rule to undefined entity", Ruleset{Entities: base, Rules: []Rule{{Entity: "Geneva", DeviceName: "x"}}}, "rules[0].entity", "not defined"},
		{"rule to n/a", Ruleset{Entities: base, Rules: []Rule{{Entity: "n/a", DeviceName: "x"}}}, "rules[0].entity", "cannot be assigned"},
		{"rule entity wrong case", Ruleset{Entities: base, Rules: []Rule{{Entity: "lausanne", DeviceName: "x"}}}, "rules[0].entity", "not defined"},
		{"rule without criterion", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", DeviceName: "x"}, {Entity: "Zurich"}}}, "rules[1]", "exactly one"},
		{"rule with two criteria", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", DeviceName: "x", Tag: "t"}}}, "rules[0]", "exactly one"},
		{"rule with four criteria", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", DeviceName: "x", Tag: "t", PublicIP: "1.2.3.4", LocalIP: "10.0.0.1"}}}, "rules[0]", "it has 4"},
		{"glob too long", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", DeviceName: strings.Repeat("*", MaxNameLen+1)}}}, "rules[0].device_name", "at most"},
		{"glob with spaces around", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", DeviceName: "ZRH-* "}}}, "rules[0].device_name", "spaces"},
		{"bad public cidr", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", PublicIP: "198.51.100.0/33"}}}, "rules[0].public_ip", "CIDR"},
		{"bad public address", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", PublicIP: "198.51.100"}}}, "rules[0].public_ip", "CIDR"},
		{"host bits set", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", PublicIP: "198.51.100.7/24"}}}, "rules[0].public_ip", "198.51.100.0/24"},
		{"mapped prefix", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", LocalIP: "::ffff:10.0.0.0/104"}}}, "rules[0].local_ip", "IPv4 form"},
		{"mapped address", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", LocalIP: "::ffff:10.0.0.1"}}}, "rules[0].local_ip", "IPv4 form"},
		{"zoned address", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", LocalIP: "fe80::1%eth0"}}}, "rules[0].local_ip", "zone"},
		{"bad local cidr", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", LocalIP: "ten/8"}}}, "rules[0].local_ip", "CIDR"},
		{"bad tag", Ruleset{Entities: base, Rules: []Rule{{Entity: "Zurich", Tag: "a\tb"}}}, "rules[0].tag", "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Compile(tt.rs)
			if err == nil {
				t.Fatalf("Compile accepted it: %+v", o.Ruleset())
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Message, tt.msg) {
				t.Fatalf("got %q: %q, want field %q with message containing %q", fe.Field, fe.Message, tt.field, tt.msg)
			}
			if o != nil {
				t.Fatal("returned an Organization with an error")
			}
		})
	}
}

func TestCompileTooManyRules(t *testing.T) {
	rs := Ruleset{Entities: []Entity{ent("A")}, Rules: make([]Rule, MaxRules+1)}
	_, err := Compile(rs)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "rules" {
		t.Fatalf("got %v, want a rules FieldError", err)
	}
}

func TestCompileAcceptsAndCopies(t *testing.T) {
	rs := Ruleset{
		Entities: []Entity{
			ent("Lausanne", "Country", "Switzerland", "Region", "Europe"),
			ent("Zurich", "Country", "Switzerland", "Region", "Europe"),
			ent("Tokyo", "Country", "Japan", "Region", "Asia Pacific"),
			ent("Lab"),
		},
		Rules: []Rule{
			{Entity: "Lausanne", DeviceName: "LAU-*"},
			{Entity: "Zurich", PublicIP: "198.51.100.0/24"},
			{Entity: "Tokyo", LocalIP: "10.81.0.0/16"},
			{Entity: "Lab", Tag: "lab"},
			{Entity: "Zurich", PublicIP: "2001:db8::1"},
		},
	}
	o, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(rs)
	// Mutating the input after Compile must not change the organization.
	rs.Entities[0].Classifications["Region"] = "Mars"
	rs.Rules[0].Entity = "Tokyo"
	got, _ := json.Marshal(o.Ruleset())
	if string(got) != string(want) {
		t.Fatalf("Ruleset() = %s, want %s", got, want)
	}
	// Mutating the returned copy must not change it either.
	cp := o.Ruleset()
	cp.Entities[0].Classifications["Region"] = "Mars"
	cp.Rules[0].Entity = "Tokyo"
	if got := o.ClassificationOf("Lausanne", "Region"); got != "Europe" {
		t.Fatalf("ClassificationOf after mutating a copy = %q", got)
	}
	if got := o.Assign(Device{Name: "LAU-1"}); got != "Lausanne" {
		t.Fatalf("Assign after mutating a copy = %q", got)
	}
	if !o.HasEntity("Lab") || o.HasEntity("lab") || o.HasEntity(Unassigned) {
		t.Fatal("HasEntity must be exact and never know n/a")
	}
	if !o.HasClassificationValue("Region", "Asia Pacific") || o.HasClassificationValue("Region", "asia pacific") || o.HasClassificationValue("Country", "Europe") {
		t.Fatal("HasClassificationValue wrong")
	}
	if !o.HasClassification("Country") || o.HasClassification("Site") {
		t.Fatal("HasClassification wrong")
	}
	if got := o.ClassificationOf("Lab", "Region"); got != "" {
		t.Fatalf("Lab has no Region, got %q", got)
	}
	if got := o.ClassificationOf(Unassigned, "Region"); got != "" {
		t.Fatalf("n/a has no Region, got %q", got)
	}
	if got := o.Classifications(); !reflect.DeepEqual(got, []string{"Country", "Region"}) {
		t.Fatalf("Classifications() = %v", got)
	}
	if got := o.ClassificationValues("Region"); !reflect.DeepEqual(got, []string{"Asia Pacific", "Europe"}) {
		t.Fatalf("ClassificationValues() = %v", got)
	}
	if got := o.Entities(); !reflect.DeepEqual(got, []string{"Lausanne", "Zurich", "Tokyo", "Lab"}) {
		t.Fatalf("Entities() = %v", got)
	}
}

func TestEntitiesWith(t *testing.T) {
	o, err := Compile(Ruleset{Entities: []Entity{
		ent("Lausanne", "Region", "Europe"),
		ent("Tokyo", "Region", "Asia"),
		ent("Zurich", "Region", "Europe"),
		ent("Lab"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		class  string
		values []string
		want   []string
	}{
		{"Region", []string{"Europe"}, []string{"Lausanne", "Zurich"}},
		{"Region", []string{"Asia", "Europe", "Europe"}, []string{"Lausanne", "Tokyo", "Zurich"}},
		{"Region", []string{"europe"}, []string{}},
		{"Region", []string{"Mars"}, []string{}},
		{"Region", nil, []string{}},
		{"Country", []string{"Europe"}, []string{}},
	}
	for _, tt := range tests {
		if got := o.EntitiesWith(tt.class, tt.values); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("EntitiesWith(%q, %q) = %#v, want %#v", tt.class, tt.values, got, tt.want)
		}
	}
}

func TestNilAndEmptyOrganization(t *testing.T) {
	var nilOrg *Organization
	empty, err := Compile(Ruleset{})
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]*Organization{"nil": nilOrg, "empty": empty} {
		if got := o.Assign(Device{Name: "x"}); got != Unassigned {
			t.Errorf("%s: Assign = %q", name, got)
		}
		if e, i := o.AssignRule(Device{Name: "x"}); e != Unassigned || i != -1 {
			t.Errorf("%s: AssignRule = %q, %d", name, e, i)
		}
		if o.HasEntity("x") || o.HasClassificationValue("a", "b") || o.HasClassification("a") || o.ClassificationOf("x", "a") != "" {
			t.Errorf("%s: lookups must be empty", name)
		}
		if got := o.EntitiesWith("a", []string{"b"}); got == nil || len(got) != 0 {
			t.Errorf("%s: EntitiesWith = %#v", name, got)
		}
		if got := o.Classifications(); got == nil || len(got) != 0 {
			t.Errorf("%s: Classifications = %#v", name, got)
		}
		b, _ := json.Marshal(o.Ruleset())
		if string(b) != `{"entities":[],"rules":[]}` {
			t.Errorf("%s: Ruleset JSON = %s", name, b)
		}
	}
}

func TestRulesetJSONShape(t *testing.T) {
	// The CONTRACT example decodes and compiles as is.
	const body = `{"entities":[{"name":"Lausanne","classifications":{"Country":"Switzerland","Region":"Europe"}},{"name":"Zurich"}],
	  "rules":[{"entity":"Lausanne","device_name":"LAU-*"},{"entity":"Zurich","public_ip":"198.51.100.0/24"}]}`
	var rs Ruleset
	if err := json.Unmarshal([]byte(body), &rs); err != nil {
		t.Fatal(err)
	}
	o, err := Compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(o.Ruleset())
	const want = `{"entities":[{"name":"Lausanne","classifications":{"Country":"Switzerland","Region":"Europe"}},{"name":"Zurich"}],"rules":[{"entity":"Lausanne","device_name":"LAU-*"},{"entity":"Zurich","public_ip":"198.51.100.0/24"}]}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestValidClassificationName(t *testing.T) {
	for s, want := range map[string]bool{
		"Region": true, "Cost center": true, "cost_center-2": true, "Région": true,
		"": false, " Region": false, "Region ": false, "a.b": false, "a,b": false, "a/b": false,
		strings.Repeat("x", MaxClassificationNameLen): true, strings.Repeat("x", MaxClassificationNameLen+1): false,
	} {
		if got := ValidClassificationName(s); got != want {
			t.Errorf("ValidClassificationName(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestFieldErrorMessage(t *testing.T) {
	err := error(&FieldError{Field: "rules[2].public_ip", Message: "bad"})
	if err.Error() != "org: rules[2].public_ip: bad" {
		t.Fatal(err.Error())
	}
}
