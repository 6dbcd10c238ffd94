package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"webusage/geo"
	"webusage/org"
	"webusage/privacy"
	"webusage/store"
)

// Error codes of the JSON error body.
const (
	CodeInvalid      = "invalid"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// apiError is an error the client is meant to see: a status, a code, a
// message and (for bad input) the offending field.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func invalid(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

func forbidden(field, msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: CodeForbidden, Field: field, Message: msg}
}

var (
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "missing or invalid token"}
	errNotFound     = &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "not found"}
)

// toAPIError maps any error to what the client sees. Internal errors are
// logged and never shown.
func (s *Server) toAPIError(c echo.Context, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var qe *store.QueryError
	if errors.As(err, &qe) {
		if qe.Hidden {
			return forbidden(qe.Field, qe.Message)
		}
		return invalid(qe.Field, "%s", qe.Message)
	}
	var gf *geo.FieldError
	if errors.As(err, &gf) {
		return invalid(gf.Field, "%s", gf.Message)
	}
	var of *org.FieldError
	if errors.As(err, &of) {
		return invalid(of.Field, "%s", of.Message)
	}
	var pf *privacy.FieldError
	if errors.As(err, &pf) {
		return invalid(pf.Field, "%s", pf.Message)
	}
	var he *privacy.HiddenFieldError
	if errors.As(err, &he) {
		return forbidden(he.Field, he.Error())
	}
	switch {
	case errors.Is(err, store.ErrNameTaken):
		return &apiError{Status: http.StatusConflict, Code: CodeConflict, Field: "name", Message: "the name is already in use"}
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, store.ErrQueueFull), errors.Is(err, store.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "server busy, retry later"}
	}
	var he2 *echo.HTTPError
	if errors.As(err, &he2) {
		switch he2.Code {
		case http.StatusRequestEntityTooLarge:
			return &apiError{Status: he2.Code, Code: CodeTooLarge, Message: "request body too large"}
		case http.StatusNotFound:
			return errNotFound
		case http.StatusMethodNotAllowed:
			return &apiError{Status: he2.Code, Code: "method_not_allowed", Message: "method not allowed"}
		case http.StatusUnauthorized:
			return errUnauthorized
		}
		if he2.Code < 500 {
			return &apiError{Status: he2.Code, Code: CodeInvalid, Message: http.StatusText(he2.Code)}
		}
	}
	s.log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
	return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := s.toAPIError(c, err)
	switch ae.Status {
	case http.StatusServiceUnavailable:
		c.Response().Header().Set("Retry-After", "1")
	case http.StatusUnauthorized:
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="webusage"`)
	}
	if werr := c.JSON(ae.Status, map[string]any{"error": ae}); werr != nil {
		s.log.Debug("write error response", "err", werr)
	}
}
