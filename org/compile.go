package org

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on a Ruleset. Compile refuses anything larger.
const (
	MaxEntities                 = 10000 // entities per ruleset
	MaxRules                    = 10000 // rules per ruleset
	MaxClassificationsPerEntity = 32    // classifications on one entity
	MaxNameLen                  = 128   // bytes in an entity name, classification value, tag or glob
	MaxClassificationNameLen    = 64    // bytes in a classification name
)

// Compile validates the whole ruleset and returns an immutable Organization.
// It refuses, with a *FieldError naming the first offending field:
//   - more than MaxEntities entities or MaxRules rules;
//   - an entity name that is empty, too long, has control characters or
//     surrounding spaces, is Unassigned ("n/a", in any case), or repeats an
//     earlier name (also when they differ only in case);
//   - a classification name that is not letters, digits, '_', '-' and inner
//     spaces, or that differs only in case from another one in use (on the same
//     or any other entity); an empty, too long or control-character value, or a
//     value that differs only in case from another value of the same
//     classification;
//   - a rule whose entity is not defined, that has zero or several criteria,
//     or whose criterion is invalid (empty/too long glob, unparsable CIDR or
//     address, CIDR with host bits set, IPv4-mapped or zoned address, bad tag).
//
// Each classification value is, by construction, associated with at least one
// entity, and an entity holds one value per classification.
func Compile(rs Ruleset) (*Organization, error) {
	if len(rs.Entities) > MaxEntities {
		return nil, fieldErr("entities", "at most %d entities", MaxEntities)
	}
	if len(rs.Rules) > MaxRules {
		return nil, fieldErr("rules", "at most %d rules", MaxRules)
	}
	o := &Organization{
		entities: make(map[string]int, len(rs.Entities)),
		classes:  map[string]map[string][]string{},
	}
	if err := o.addEntities(rs.Entities); err != nil {
		return nil, err
	}
	for c := range o.classes {
		o.classNames = append(o.classNames, c)
	}
	slices.Sort(o.classNames)
	o.rs.Rules = make([]Rule, len(rs.Rules))
	copy(o.rs.Rules, rs.Rules)
	m, err := compileRules(o.rs.Rules, o.entities)
	if err != nil {
		return nil, err
	}
	o.m = m
	return o, nil
}

func (o *Organization) addEntities(entities []Entity) error {
	folded := map[string]string{}    // lower(entity name) → name
	classFold := map[string]string{} // lower(classification) → spelling in use
	valueFold := map[string]string{} // classification + "\x00" + lower(value) → spelling
	o.rs.Entities = make([]Entity, 0, len(entities))
	for i, e := range entities {
		f := fmt.Sprintf("entities[%d].name", i)
		if err := checkName(e.Name, MaxNameLen); err != "" {
			return fieldErr(f, "entity name %s", err)
		}
		if strings.EqualFold(e.Name, Unassigned) {
			return fieldErr(f, "%q is reserved for devices that match no rule", Unassigned)
		}
		if prev, dup := folded[strings.ToLower(e.Name)]; dup {
			if prev == e.Name {
				return fieldErr(f, "duplicate entity %q", e.Name)
			}
			return fieldErr(f, "entity %q differs from %q only in case", e.Name, prev)
		}
		folded[strings.ToLower(e.Name)] = e.Name
		if len(e.Classifications) > MaxClassificationsPerEntity {
			return fieldErr(fmt.Sprintf("entities[%d].classifications", i), "at most %d classifications per entity", MaxClassificationsPerEntity)
		}
		c := Entity{Name: e.Name}
		// Visit classifications in sorted order so the first error is deterministic.
		keys := make([]string, 0, len(e.Classifications))
		for k := range e.Classifications {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		seen := map[string]string{}
		for _, k := range keys {
			v := e.Classifications[k]
			cf := fmt.Sprintf("entities[%d].classifications[%q]", i, k)
			if !ValidClassificationName(k) {
				return fieldErr(cf, "classification name must be 1-%d letters, digits, '_', '-' or inner spaces", MaxClassificationNameLen)
			}
			lk := strings.ToLower(k)
			if prev, dup := seen[lk]; dup {
				return fieldErr(cf, "classification %q differs from %q only in case: an entity has one value per classification", k, prev)
			}
			seen[lk] = k
			if prev, ok := classFold[lk]; ok && prev != k {
				return fieldErr(cf, "classification %q differs from %q only in case; spell it the same on every entity", k, prev)
			}
			classFold[lk] = k
			if err := checkName(v, MaxNameLen); err != "" {
				return fieldErr(cf, "classification value %s", err)
			}
			vk := k + "\x00" + strings.ToLower(v)
			if prev, ok := valueFold[vk]; ok && prev != v {
				return fieldErr(cf, "value %q differs from %q only in case; spell it the same on every entity", v, prev)
			}
			valueFold[vk] = v
			if c.Classifications == nil {
				c.Classifications = make(map[string]string, len(keys))
			}
			c.Classifications[k] = v
			if o.classes[k] == nil {
				o.classes[k] = map[string][]string{}
			}
			o.classes[k][v] = append(o.classes[k][v], e.Name)
		}
		o.entities[e.Name] = len(o.rs.Entities)
		o.rs.Entities = append(o.rs.Entities, c)
	}
	return nil
}

// ValidClassificationName reports whether s can name a custom classification:
// 1 to MaxClassificationNameLen bytes of letters, digits, '_', '-' and spaces,
// not starting or ending with a space. Such names are safe inside the field
// name "classification.<Name>" and in comma-separated lists.
func ValidClassificationName(s string) bool {
	if s == "" || len(s) > MaxClassificationNameLen || !utf8.ValidString(s) {
		return false
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != ' ' {
			return false
		}
	}
	return true
}

// checkName returns "" when s is a valid display name (entity, value, tag,
// glob) or the reason it is not, phrased to follow "entity name ".
func checkName(s string, max int) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > max:
		return fmt.Sprintf("must be at most %d bytes", max)
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.TrimSpace(s) != s:
		return "must not start or end with spaces"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// parseNet parses a CIDR prefix or a bare address into a canonical prefix.
// The reason it returns is "" on success.
func parseNet(s string) (netip.Prefix, string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, "must be a CIDR prefix like 10.0.0.0/8 or an address"
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, "use the IPv4 form, not an IPv4-mapped IPv6 prefix"
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Sprintf("has host bits set; did you mean %s?", p.Masked())
		}
		return p, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, "must be a CIDR prefix like 10.0.0.0/8 or an address"
	}
	if a.Zone() != "" {
		return netip.Prefix{}, "must not have a zone"
	}
	if a.Is4In6() {
		return netip.Prefix{}, "use the IPv4 form, not an IPv4-mapped IPv6 address"
	}
	return netip.PrefixFrom(a, a.BitLen()), ""
}
