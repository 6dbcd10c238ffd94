package privacy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"webusage/org"
)

// Visibility is a data-privacy rule for one class.
type Visibility string

// The two visibilities. Anything else is refused by Validate and treated as
// Hidden by Resolve's callers that skip validation (fail closed).
const (
	Visible Visibility = "visible"
	Hidden  Visibility = "hidden"
)

// DataPrivacy holds the visibility of each class for one role.
type DataPrivacy struct {
	Users        Visibility `json:"users"`
	Devices      Visibility `json:"devices"`
	Destinations Visibility `json:"destinations"`
}

// Of returns the visibility of class c ("" for an unknown class).
func (d DataPrivacy) Of(c Class) Visibility {
	switch c {
	case Users:
		return d.Users
	case Devices:
		return d.Devices
	case Destinations:
		return d.Destinations
	}
	return ""
}

// Permission is a right a role grants.
type Permission string

// The permissions. Administrator and ManageApplications need a full view
// domain; DataManagement needs Administrator.
const (
	// Administrator: accounts, roles, tokens, settings, organization,
	// locations.
	Administrator Permission = "administrator"
	// ManageApplications: define web applications.
	ManageApplications Permission = "manage_applications"
	// ViewWebUsage: query web usage, devices and users.
	ViewWebUsage Permission = "view_web_usage"
	// ExportWebUsage: export web usage (CSV).
	ExportWebUsage Permission = "export_web_usage"
	// ViewAuditLog: read the audit trail.
	ViewAuditLog Permission = "view_audit_log"
	// DataManagement: retrieve or delete all data of a user or device,
	// retention.
	DataManagement Permission = "data_management"
)

var permissions = []Permission{Administrator, ManageApplications, ViewWebUsage, ExportWebUsage, ViewAuditLog, DataManagement}

// AllPermissions returns every permission in canonical order.
func AllPermissions() []Permission { return append([]Permission{}, permissions...) }

// permBit returns the bit of p, or 0 for an unknown permission.
func permBit(p Permission) uint32 {
	for i, q := range permissions {
		if p == q {
			return 1 << i
		}
	}
	return 0
}

// RequiresFullDomain reports whether p can only be held with a full view
// domain.
func RequiresFullDomain(p Permission) bool {
	return p == Administrator || p == ManageApplications
}

// View-domain access kinds.
const (
	AccessFull    = "full"
	AccessLimited = "limited"
)

// ViewDomain restricts the rows a main role sees: full access, or limited to
// a list of entities, or to some values of one custom classification.
type ViewDomain struct {
	Access         string   `json:"access"`
	Entities       []string `json:"entities,omitempty"`
	Classification string   `json:"classification,omitempty"`
	Values         []string `json:"values,omitempty"`
}

// Full reports whether the domain is full access.
func (v ViewDomain) Full() bool { return v.Access == AccessFull }

func (v ViewDomain) clone() ViewDomain {
	v.Entities = append([]string(nil), v.Entities...)
	v.Values = append([]string(nil), v.Values...)
	return v
}

// Role types.
const (
	MainRole       = "main"
	AdditionalRole = "additional"
)

// Bounds on a role.
const (
	MaxRoleNameLen  = 100  // bytes in a role name
	MaxMinGroupSize = 1000 // largest min_group_size
)

// Role is a named set of rights. A main role carries a view domain, data
// privacy and permissions; an additional role carries data privacy and
// permissions, which it can only grant (see Resolve).
type Role struct {
	ID           int64        `json:"id"`
	Name         string       `json:"name"`
	Type         string       `json:"type"`
	ViewDomain   *ViewDomain  `json:"view_domain,omitempty"`
	Privacy      DataPrivacy  `json:"privacy"`
	Permissions  []Permission `json:"permissions"`
	MinGroupSize int          `json:"min_group_size,omitempty"`
	Builtin      bool         `json:"builtin,omitempty"`
}

// BuiltinAdminRole is the main role of the bootstrap admin: full view
// domain, every class visible, every permission.
func BuiltinAdminRole() Role {
	return Role{
		Name:        "Administrator",
		Type:        MainRole,
		ViewDomain:  &ViewDomain{Access: AccessFull},
		Privacy:     DataPrivacy{Users: Visible, Devices: Visible, Destinations: Visible},
		Permissions: AllPermissions(),
		Builtin:     true,
	}
}

// Validate reports, as a *FieldError naming the first offending field, why
// r cannot be saved against organization o (nil = no entities):
//   - name empty, longer than MaxRoleNameLen, with control characters or
//     surrounding spaces; type not "main" or "additional";
//   - a main role without a view domain, an additional role with one;
//     access not "full"/"limited"; a full domain that lists entities or
//     values; a limited one with neither or both of entities and
//     classification, a classification without values;
//   - a limited domain naming an entity, classification or value that o does
//     not have (e.g. deleted), naming "n/a", or naming one twice;
//   - a privacy switch not "visible"/"hidden";
//   - an unknown or repeated permission; data_management without
//     administrator in the same role; administrator or manage_applications
//     on a main role with a limited domain;
//   - min_group_size outside 0..MaxMinGroupSize.
func (r Role) Validate(o *org.Organization) error {
	if err := r.validateShape(); err != nil {
		return err
	}
	return r.validateRefs(o)
}

// validateShape checks everything that does not depend on the organization.
func (r Role) validateShape() *FieldError {
	switch {
	case r.Name == "":
		return fieldErr("name", "required")
	case len(r.Name) > MaxRoleNameLen:
		return fieldErr("name", "must be at most %d bytes", MaxRoleNameLen)
	case !utf8.ValidString(r.Name) || strings.ContainsFunc(r.Name, unicode.IsControl):
		return fieldErr("name", "must be valid UTF-8 without control characters")
	case strings.TrimSpace(r.Name) != r.Name:
		return fieldErr("name", "must not start or end with spaces")
	}
	switch r.Type {
	case MainRole:
		if r.ViewDomain == nil {
			return fieldErr("view_domain", "required on a main role")
		}
		if err := r.ViewDomain.validateShape(); err != nil {
			return err
		}
	case AdditionalRole:
		if r.ViewDomain != nil {
			return fieldErr("view_domain", "an additional role has no view domain; the account's main role sets it")
		}
	default:
		return fieldErr("type", `must be "main" or "additional"`)
	}
	for _, c := range Classes() {
		if v := r.Privacy.Of(c); v != Visible && v != Hidden {
			return fieldErr("privacy."+string(c), `must be "visible" or "hidden"`)
		}
	}
	var seen uint32
	for i, p := range r.Permissions {
		f := fmt.Sprintf("permissions[%d]", i)
		bit := permBit(p)
		if bit == 0 {
			return fieldErr(f, "unknown permission %q", truncate(string(p)))
		}
		if seen&bit != 0 {
			return fieldErr(f, "duplicate permission %q", p)
		}
		seen |= bit
	}
	for i, p := range r.Permissions {
		f := fmt.Sprintf("permissions[%d]", i)
		if p == DataManagement && seen&permBit(Administrator) == 0 {
			return fieldErr(f, "data_management requires administrator in the same role")
		}
		if RequiresFullDomain(p) && r.ViewDomain != nil && !r.ViewDomain.Full() {
			return fieldErr(f, "%s requires a full view domain, but this role's view domain is limited", p)
		}
	}
	if r.MinGroupSize < 0 || r.MinGroupSize > MaxMinGroupSize {
		return fieldErr("min_group_size", "must be between 0 (off) and %d", MaxMinGroupSize)
	}
	return nil
}

func (v *ViewDomain) validateShape() *FieldError {
	switch v.Access {
	case AccessFull:
		if len(v.Entities) > 0 || v.Classification != "" || len(v.Values) > 0 {
			return fieldErr("view_domain", "a full view domain lists no entities, classification or values")
		}
		return nil
	case AccessLimited:
	default:
		return fieldErr("view_domain.access", `must be "full" or "limited"`)
	}
	byEntities, byClass := len(v.Entities) > 0, v.Classification != "" || len(v.Values) > 0
	switch {
	case byEntities && byClass:
		return fieldErr("view_domain", "limit by entities or by a classification, not both")
	case !byEntities && !byClass:
		return fieldErr("view_domain", "a limited view domain needs entities, or a classification and values")
	case byClass && v.Classification == "":
		return fieldErr("view_domain.classification", "required with values")
	case byClass && len(v.Values) == 0:
		return fieldErr("view_domain.values", "at least one value of %q is required", v.Classification)
	case len(v.Entities) > org.MaxEntities || len(v.Values) > org.MaxEntities:
		return fieldErr("view_domain", "at most %d entities or values", org.MaxEntities)
	}
	seen := map[string]bool{}
	for i, e := range v.Entities {
		f := fmt.Sprintf("view_domain.entities[%d]", i)
		if strings.EqualFold(e, org.Unassigned) {
			return fieldErr(f, "devices of entity %q are visible only with a full view domain", org.Unassigned)
		}
		if seen[e] {
			return fieldErr(f, "duplicate entity %q", truncate(e))
		}
		seen[e] = true
	}
	for i, val := range v.Values {
		f := fmt.Sprintf("view_domain.values[%d]", i)
		if seen[val] {
			return fieldErr(f, "duplicate value %q", truncate(val))
		}
		seen[val] = true
	}
	return nil
}

// validateRefs checks that a limited view domain names what o defines.
func (r Role) validateRefs(o *org.Organization) error {
	v := r.ViewDomain
	if v == nil || v.Full() {
		return nil
	}
	for i, e := range v.Entities {
		if !o.HasEntity(e) {
			return fieldErr(fmt.Sprintf("view_domain.entities[%d]", i), "entity %q does not exist in the organization (deleted or renamed?)", truncate(e))
		}
	}
	if v.Classification == "" {
		return nil
	}
	if !o.HasClassification(v.Classification) {
		return fieldErr("view_domain.classification", "classification %q does not exist in the organization", truncate(v.Classification))
	}
	for i, val := range v.Values {
		if !o.HasClassificationValue(v.Classification, val) {
			return fieldErr(fmt.Sprintf("view_domain.values[%d]", i), "no entity has %s %q (deleted or renamed?)", v.Classification, truncate(val))
		}
	}
	return nil
}

// truncate bounds a submitted string repeated in an error message.
func truncate(s string) string {
	if len(s) <= maxEchoedField {
		return s
	}
	return unknownField(s).Field
}
