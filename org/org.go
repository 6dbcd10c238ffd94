// Package org holds the organization of a webusage instance: its entities, the
// custom classifications of those entities (e.g. Country, Region) and the ordered
// rules that assign a device to an entity.
//
// The package is pure: no I/O, no database, no HTTP. A Ruleset is the editable
// JSON shape (GET/PUT /api/v1/organization); Compile validates it and returns an
// immutable Organization that answers assignment and lookup questions and is
// safe for concurrent use.
package org

import (
	"net/netip"
	"slices"
)

// Unassigned is the entity of a device that matches no rule. It is reserved:
// no entity may be named like it, and only a full view domain sees its events.
const Unassigned = "n/a"

// Entity is one organizational unit devices are assigned to, with at most one
// value per custom classification (e.g. {"Country": "Switzerland"}).
type Entity struct {
	Name            string            `json:"name"`
	Classifications map[string]string `json:"classifications,omitempty"`
}

// Rule assigns Entity to a device matched by exactly one criterion:
//   - DeviceName: a glob over the whole device name, case-insensitive; `*`
//     matches any run of characters (also none), `?` exactly one character;
//     every other character is literal.
//   - PublicIP / LocalIP: a CIDR prefix ("10.0.0.0/8") or a bare address; a
//     device matches LocalIP when any of its local addresses is inside.
//   - Tag: a device tag sent by the extension, compared case-insensitively.
type Rule struct {
	Entity     string `json:"entity"`
	DeviceName string `json:"device_name,omitempty"`
	PublicIP   string `json:"public_ip,omitempty"`
	LocalIP    string `json:"local_ip,omitempty"`
	Tag        string `json:"tag,omitempty"`
}

// Ruleset is the whole editable organization: entities and ordered rules. The
// first rule that matches a device wins.
type Ruleset struct {
	Entities []Entity `json:"entities"`
	Rules    []Rule   `json:"rules"`
}

// Device is what assignment looks at: the device as reported with its batch.
// Invalid (zero) addresses never match an IP rule.
type Device struct {
	Name     string
	PublicIP netip.Addr
	LocalIPs []netip.Addr
	Tags     []string
}

// Organization is a validated, compiled Ruleset. It is immutable and safe for
// concurrent use; a nil *Organization behaves as an empty organization (no
// entities, every device Unassigned).
type Organization struct {
	rs       Ruleset
	entities map[string]int // name → index in rs.Entities
	// classes maps classification → value → entity names in definition order.
	classes    map[string]map[string][]string
	classNames []string // sorted
	m          matcher
}

// Ruleset returns a deep copy of the ruleset the organization was compiled
// from. Its slices are never nil, so it encodes as `{"entities":[],"rules":[]}`
// when empty.
func (o *Organization) Ruleset() Ruleset {
	out := Ruleset{Entities: []Entity{}, Rules: []Rule{}}
	if o == nil {
		return out
	}
	for _, e := range o.rs.Entities {
		c := Entity{Name: e.Name}
		if len(e.Classifications) > 0 {
			c.Classifications = make(map[string]string, len(e.Classifications))
			for k, v := range e.Classifications {
				c.Classifications[k] = v
			}
		}
		out.Entities = append(out.Entities, c)
	}
	out.Rules = append(out.Rules, o.rs.Rules...)
	return out
}

// Entities returns the entity names in definition order (a fresh slice).
func (o *Organization) Entities() []string {
	if o == nil {
		return []string{}
	}
	out := make([]string, len(o.rs.Entities))
	for i, e := range o.rs.Entities {
		out[i] = e.Name
	}
	return out
}

// HasEntity reports whether an entity of exactly this name is defined.
// Unassigned is never an entity.
func (o *Organization) HasEntity(name string) bool {
	if o == nil {
		return false
	}
	_, ok := o.entities[name]
	return ok
}

// HasClassificationValue reports whether at least one entity carries value
// for classification (exact spelling).
func (o *Organization) HasClassificationValue(classification, value string) bool {
	if o == nil {
		return false
	}
	_, ok := o.classes[classification][value]
	return ok
}

// HasClassification reports whether at least one entity carries a value for
// classification (exact spelling).
func (o *Organization) HasClassification(classification string) bool {
	if o == nil {
		return false
	}
	_, ok := o.classes[classification]
	return ok
}

// ClassificationOf returns entity's value for classification, or "" when the
// entity is unknown (including Unassigned) or has no value for it.
func (o *Organization) ClassificationOf(entity, classification string) string {
	if o == nil {
		return ""
	}
	i, ok := o.entities[entity]
	if !ok {
		return ""
	}
	return o.rs.Entities[i].Classifications[classification]
}

// EntitiesWith returns the names of the entities whose value for
// classification is one of values, in definition order, without duplicates.
// The result is never nil; it is empty when nothing matches.
func (o *Organization) EntitiesWith(classification string, values []string) []string {
	out := []string{}
	if o == nil {
		return out
	}
	byValue := o.classes[classification]
	if len(byValue) == 0 {
		return out
	}
	want := make(map[string]bool, len(values))
	for _, v := range values {
		want[v] = true
	}
	for _, e := range o.rs.Entities {
		if v, ok := e.Classifications[classification]; ok && want[v] {
			out = append(out, e.Name)
		}
	}
	return out
}

// Classifications returns the custom classification names in use, sorted.
func (o *Organization) Classifications() []string {
	if o == nil {
		return []string{}
	}
	return append([]string{}, o.classNames...)
}

// ClassificationValues returns the values of classification in use, sorted.
func (o *Organization) ClassificationValues(classification string) []string {
	out := []string{}
	if o == nil {
		return out
	}
	for v := range o.classes[classification] {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
