package privacy

import (
	"fmt"
	"unicode/utf8"
)

// FieldError says which field of a role, account or policy is invalid, or
// which requested output field is unknown, and why. Field is a JSON path such
// as "view_domain.entities[1]" or "additional_roles[0]".
type FieldError struct {
	Field   string
	Message string
}

// Error implements error as "privacy: <field>: <message>".
func (e *FieldError) Error() string {
	return fmt.Sprintf("privacy: %s: %s", e.Field, e.Message)
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// HiddenFieldError refuses to read, filter, group or sort on a field that the
// caller's roles hide. It names the field and its class, never a value; the
// server maps it to 403.
type HiddenFieldError struct {
	Field string
	Class Class
}

// Error implements error as `field "user" is hidden by your roles`.
func (e *HiddenFieldError) Error() string {
	return fmt.Sprintf("field %q is hidden by your roles", e.Field)
}

// maxEchoedField bounds how much of an unknown field name an error repeats,
// so a URL pasted into group_by is not echoed back whole.
const maxEchoedField = 64

func unknownField(field string) *FieldError {
	if len(field) > maxEchoedField {
		cut := maxEchoedField
		for cut > 0 && !utf8.RuneStart(field[cut]) {
			cut--
		}
		field = field[:cut] + "…"
	}
	return &FieldError{Field: field, Message: "unknown field"}
}
