package privacy

import (
	"fmt"
	"slices"
	"strings"

	"webusage/org"
)

// Access is an account's effective rights, resolved from its roles. It is an
// immutable value, safe to share. The zero Access is the most restrictive:
// no permission, every class hidden, and a limited view domain with nothing
// in it.
type Access struct {
	domain   ViewDomain
	perms    uint32
	visible  [3]bool // indexed like Classes()
	minGroup int
}

// classIndex returns c's index in Classes(), or -1.
func classIndex(c Class) int {
	switch c {
	case Users:
		return 0
	case Devices:
		return 1
	case Destinations:
		return 2
	}
	return -1
}

// Resolve combines an account's main role with its additional roles:
//   - the view domain is the main role's;
//   - permissions and visibility are unions: additional roles only grant;
//   - the minimum group size is the largest k of all the roles (0 on a role
//     means "not set", so a role without k never loosens another's).
//
// It refuses, with a *FieldError on "main_role" or "additional_roles[i]":
// a main role that is not of type main, an additional role that is not of
// type additional, any role whose shape Validate would refuse (Resolve does
// not look at the organization), and an account that would hold
// administrator or manage_applications from any role with a limited view
// domain.
func Resolve(main Role, additional []Role) (Access, error) {
	if main.Type != MainRole {
		return Access{}, fieldErr("main_role", "role %q is not a main role", truncate(main.Name))
	}
	if err := main.validateShape(); err != nil {
		return Access{}, fieldErr("main_role", "role %q: %s: %s", truncate(main.Name), err.Field, err.Message)
	}
	a := Access{domain: main.ViewDomain.clone()}
	a.grant(main)
	for i, r := range additional {
		f := fmt.Sprintf("additional_roles[%d]", i)
		if r.Type != AdditionalRole {
			return Access{}, fieldErr(f, "role %q is not an additional role", truncate(r.Name))
		}
		if err := r.validateShape(); err != nil {
			return Access{}, fieldErr(f, "role %q: %s: %s", truncate(r.Name), err.Field, err.Message)
		}
		if !a.domain.Full() {
			for _, p := range r.Permissions {
				if RequiresFullDomain(p) {
					return Access{}, fieldErr(f, "role %q grants %s, which requires a full view domain, but main role %q has a limited one", truncate(r.Name), p, truncate(main.Name))
				}
			}
		}
		a.grant(r)
	}
	return a, nil
}

func (a *Access) grant(r Role) {
	for _, p := range r.Permissions {
		a.perms |= permBit(p)
	}
	for i, c := range Classes() {
		if r.Privacy.Of(c) == Visible {
			a.visible[i] = true
		}
	}
	a.minGroup = max(a.minGroup, r.MinGroupSize)
}

// FullAccess is the built-in admin's access: full view domain, every class
// visible, every permission, no minimum group size.
func FullAccess() Access {
	a, err := Resolve(BuiltinAdminRole(), nil)
	if err != nil {
		panic("privacy: built-in admin role is invalid: " + err.Error())
	}
	return a
}

// Can reports whether the account holds permission p.
func (a Access) Can(p Permission) bool {
	bit := permBit(p)
	return bit != 0 && a.perms&bit != 0
}

// Permissions returns the permissions held, in canonical order.
func (a Access) Permissions() []Permission {
	out := []Permission{}
	for _, p := range permissions {
		if a.Can(p) {
			out = append(out, p)
		}
	}
	return out
}

// Hidden reports whether class c is hidden. The empty class (fields of no
// class) is never hidden; an unknown class always is.
func (a Access) Hidden(c Class) bool {
	if c == "" {
		return false
	}
	i := classIndex(c)
	return i < 0 || !a.visible[i]
}

// Privacy returns the effective visibility of each class.
func (a Access) Privacy() DataPrivacy {
	v := func(c Class) Visibility {
		if a.Hidden(c) {
			return Hidden
		}
		return Visible
	}
	return DataPrivacy{Users: v(Users), Devices: v(Devices), Destinations: v(Destinations)}
}

// Visible reports whether output field may appear in a response to this
// account: false for hidden and for unknown fields.
func (a Access) Visible(field string) bool {
	c, ok := ClassOf(field)
	return ok && !a.Hidden(c)
}

// RequireVisible returns nil when field is visible, a *HiddenFieldError when
// the account's roles hide it, and a *FieldError ("unknown field") when the
// field is not declared. Use it for every field a request names: output
// columns, filters, group_by, sort keys, cursors.
func (a Access) RequireVisible(field string) error {
	c, ok := ClassOf(field)
	if !ok {
		return unknownField(field)
	}
	if a.Hidden(c) {
		return &HiddenFieldError{Field: field, Class: c}
	}
	return nil
}

// VisibleFields returns the fields of fields that are visible, in order.
func (a Access) VisibleFields(fields []string) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if a.Visible(f) {
			out = append(out, f)
		}
	}
	return out
}

// FullDomain reports whether the view domain is full access.
func (a Access) FullDomain() bool { return a.domain.Full() }

// ViewDomain returns a copy of the effective (main role's) view domain.
func (a Access) ViewDomain() ViewDomain { return a.domain.clone() }

// AllowedEntities resolves the view domain against the current organization.
// For a full domain it returns (nil, true): no restriction, and events of
// entity org.Unassigned ("n/a") are included. Otherwise it returns the
// sorted entity names whose rows are visible and false; the slice is never
// nil and never contains "n/a", and an empty slice means NO rows, not "no
// filter":
//   - limited by entities: the listed names, as listed. Events keep the
//     entity they had when they happened, so a role naming an entity still
//     sees its past events after the entity is removed from the
//     organization (until the role is edited, when Validate refuses the
//     stale name);
//   - limited by classification: the entities that have one of the values in
//     o now (nil o: none). An entity's past events follow its current
//     classification value.
func (a Access) AllowedEntities(o *org.Organization) (entities []string, full bool) {
	if a.domain.Full() {
		return nil, true
	}
	var names []string
	switch {
	case len(a.domain.Entities) > 0:
		names = slices.Clone(a.domain.Entities)
	case a.domain.Classification != "":
		names = o.EntitiesWith(a.domain.Classification, a.domain.Values)
	}
	names = slices.DeleteFunc(names, func(e string) bool { return strings.EqualFold(e, org.Unassigned) })
	slices.Sort(names)
	names = slices.Compact(names)
	if names == nil {
		names = []string{}
	}
	return names, false
}

// InDomain reports whether rows of entity are visible: always with a full
// domain; with a limited one only for allowed entities (never "n/a").
func (a Access) InDomain(o *org.Organization, entity string) bool {
	names, full := a.AllowedEntities(o)
	if full {
		return true
	}
	_, found := slices.BinarySearch(names, entity)
	return found
}

// MinGroupSize returns k: aggregate rows with fewer than k distinct users
// must be folded into an "other" row. 0 or 1 means off.
func (a Access) MinGroupSize() int { return a.minGroup }

// Folds reports whether an aggregate row with distinctUsers distinct users
// must be folded into the "other" row: true when k > 1 and distinctUsers < k.
func (a Access) Folds(distinctUsers int) bool {
	return a.minGroup > 1 && distinctUsers < a.minGroup
}
