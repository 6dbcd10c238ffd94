package org

import "fmt"

// FieldError says which field of a Ruleset is invalid and why. Field is a
// JSON path such as "rules[2].public_ip" or
// `entities[0].classifications["Region"]`; Message never repeats a submitted
// value other than names the admin chose (entity and classification names).
type FieldError struct {
	Field   string
	Message string
}

// Error implements error as "org: <field>: <message>".
func (e *FieldError) Error() string {
	return fmt.Sprintf("org: %s: %s", e.Field, e.Message)
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
