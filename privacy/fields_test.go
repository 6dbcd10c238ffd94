package privacy

import (
	"slices"
	"testing"
)

// serverFields is every output field the server uses, with its expected
// class. Adding a field to fieldClasses without deciding its class here
// fails TestEveryFieldDeclaredOnce.
var serverFields = map[string]Class{
	"user": Users, "upn": Users, "user_id": Users, "users": Users,
	"device": Devices, "device_id": Devices, "device_name": Devices, "public_ip": Devices, "local_ips": Devices, "devices": Devices,
	"url": Destinations, "template": Destinations, "host": Destinations,
	"id": "", "application": "", "entity": "", "site": "", "location_type": "", "vpn": "",
	"country_code": "", "country": "", "state": "", "city": "", "latitude": "", "longitude": "",
	"browser": "", "browser_version": "", "day": "", "hour": "", "start": "", "duration_ms": "",
	"usage_ms": "", "events": "", "first_seen": "", "last_seen": "",
}

func TestEveryFieldDeclaredOnce(t *testing.T) {
	for f, want := range serverFields {
		got, ok := ClassOf(f)
		if !ok {
			t.Errorf("field %q is not declared", f)
			continue
		}
		if got != want {
			t.Errorf("ClassOf(%q) = %q, want %q", f, got, want)
		}
	}
	declared := Fields()
	if !slices.IsSorted(declared) {
		t.Error("Fields() is not sorted")
	}
	for _, f := range declared {
		if _, ok := serverFields[f]; !ok {
			t.Errorf("field %q is declared but its class is not asserted by this test", f)
		}
	}
	if len(declared) != len(serverFields) {
		t.Errorf("Fields() has %d fields, the test expects %d", len(declared), len(serverFields))
	}
	// Every class has at least one field, so every privacy switch hides something.
	for _, c := range Classes() {
		if !slices.ContainsFunc(declared, func(f string) bool { cl, _ := ClassOf(f); return cl == c }) {
			t.Errorf("class %q has no field", c)
		}
	}
}

func TestClassOfClassificationsAndUnknown(t *testing.T) {
	tests := []struct {
		field string
		ok    bool
	}{
		{"classification.Region", true},
		{"classification.Cost center", true},
		{ClassificationField("Région"), true},
		{"classification.", false},
		{"classification", false},
		{"classification.a.b", false},
		{"classification.Re,gion", false},
		{"classification. Region", false},
		{"", false},
		{"User", false}, // field names are exact
		{"user ", false},
		{"users_count", false},
		{"https://crm.example.com/a?token=x", false},
	}
	for _, tt := range tests {
		c, ok := ClassOf(tt.field)
		if ok != tt.ok || c != "" {
			t.Errorf("ClassOf(%q) = %q, %v; want \"\", %v", tt.field, c, ok, tt.ok)
		}
	}
	if name, ok := ClassificationName("classification.Region"); !ok || name != "Region" {
		t.Errorf("ClassificationName = %q, %v", name, ok)
	}
	if _, ok := ClassificationName("entity"); ok {
		t.Error("ClassificationName accepted entity")
	}
}
