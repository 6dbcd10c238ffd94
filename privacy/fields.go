// Package privacy is webusage's one privacy rule engine. It declares which
// output field belongs to which class (users, devices, destinations), and
// applies per-class visible/hidden rules at the two choke points of
// DESIGN.md: before storage (StoragePolicy) and on every read (Access, the
// effective rights of an account resolved from its roles).
//
// The package is pure: no I/O, no database, no HTTP. The store's query layer
// and the server call it; nothing here can be bypassed by forgetting a call
// as long as every output field goes through ClassOf / Access.Visible.
package privacy

import (
	"slices"
	"strings"

	"webusage/org"
)

// Class is a data-privacy class. A role makes each class visible or hidden.
type Class string

// The three classes of the roles document, read for web usage.
const (
	// Users: user name, UPN, user identifiers, and the distinct-user count.
	Users Class = "users"
	// Devices: device name and id, public and local IPs, and the
	// distinct-device count.
	Devices Class = "devices"
	// Destinations: destinations and domains; for web usage the URL, its
	// path template and its host.
	Destinations Class = "destinations"
)

// Classes lists every class, in the order of DataPrivacy's fields.
func Classes() []Class { return []Class{Users, Devices, Destinations} }

// ClassificationPrefix starts the field name of a custom classification:
// "classification.Region" is the entity's Region value.
const ClassificationPrefix = "classification."

// fieldClasses is THE declaration of which output field belongs to which
// class. "" means the field belongs to no class and is visible to every role
// that may read web usage at all. A field missing here is unknown and refused.
//
// Decisions worth knowing:
//   - "users" and "devices" are distinct counts. A count is a Users (Devices)
//     output: a hidden class removes its count too, so "1 user did this, at
//     9:03, in entity X" cannot single a person out through the count.
//   - "site" (the on-site location name), location_type, vpn, the
//     geolocation fields and entity describe where, not who or which
//     machine: no class. They are coarse by construction (geolocation comes
//     from the public IP at the instance's granularity; the IP itself is a
//     Devices field).
//   - "application" is the admin-defined web application, not a
//     destination: no class. Hiding destinations hides url, template, host.
//   - "id" is the client-generated random event id: no class.
var fieldClasses = map[string]Class{
	// Users
	"user":    Users,
	"upn":     Users,
	"user_id": Users,
	"users":   Users, // distinct users
	// Devices
	"device":      Devices,
	"device_id":   Devices,
	"device_name": Devices,
	"public_ip":   Devices,
	"local_ips":   Devices,
	"devices":     Devices, // distinct devices
	// Destinations and domains
	"url":      Destinations,
	"template": Destinations,
	"host":     Destinations,
	// No class
	"id":              "",
	"application":     "",
	"entity":          "",
	"site":            "",
	"location_type":   "",
	"vpn":             "",
	"country_code":    "",
	"country":         "",
	"state":           "",
	"city":            "",
	"latitude":        "",
	"longitude":       "",
	"browser":         "",
	"browser_version": "",
	"day":             "",
	"hour":            "",
	"start":           "",
	"duration_ms":     "",
	"usage_ms":        "",
	"events":          "",
	"first_seen":      "",
	"last_seen":       "",
}

// ClassOf returns the class of an output field: one of Users, Devices,
// Destinations, or "" for a field that belongs to no class. ok is false for
// an unknown field, which callers must refuse rather than guess about.
// "classification.<Name>" is a known field of no class for every name
// org.ValidClassificationName accepts (whether the organization uses that
// classification is for the caller to check).
func ClassOf(field string) (c Class, ok bool) {
	if c, ok := fieldClasses[field]; ok {
		return c, true
	}
	if name, ok := ClassificationName(field); ok && org.ValidClassificationName(name) {
		return "", true
	}
	return "", false
}

// Fields returns every declared field name, sorted ("classification.<Name>"
// is not listed: it is a family, see ClassOf).
func Fields() []string {
	out := make([]string, 0, len(fieldClasses))
	for f := range fieldClasses {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// ClassificationField returns the field name of a custom classification.
func ClassificationField(name string) string { return ClassificationPrefix + name }

// ClassificationName returns Name from "classification.<Name>" and whether
// field has that form with a non-empty name.
func ClassificationName(field string) (string, bool) {
	name, ok := strings.CutPrefix(field, ClassificationPrefix)
	return name, ok && name != ""
}
