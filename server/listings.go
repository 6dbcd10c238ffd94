package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"webusage/privacy"
	"webusage/store"
)

// listingRoutes registers the device and user listings (/api/v1/devices,
// /api/v1/users).
func (s *Server) listingRoutes(api *echo.Group) {
	view := s.requireAccount(privacy.ViewWebUsage)
	api.GET("/devices", s.handleDevices, view)
	api.GET("/users", s.handleUsers, view)
}

func (s *Server) handleDevices(c echo.Context) error {
	return s.listing(c, "devices", s.store.Devices)
}

func (s *Server) handleUsers(c echo.Context) error {
	return s.listing(c, "users", s.store.Users)
}

// listing serves one page of a listing as JSON or CSV (an audited export).
// The store enforces the caller's roles; this only decodes parameters.
func (s *Server) listing(c echo.Context, endpoint string,
	list func(context.Context, store.Scope, store.ListQuery) (store.Table, string, error)) error {
	csvOut, err := s.checkFormat(c)
	if err != nil {
		return err
	}
	for _, p := range []string{"from", "to", "group_by", "sort", "order"} {
		if c.QueryParam(p) != "" {
			return invalid(p, "%s is not supported by this listing (records are listed oldest first)", p)
		}
	}
	q := store.ListQuery{Filters: filters(c.QueryParams()), Cursor: c.QueryParam("cursor")}
	if v := c.QueryParam("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 1000 {
			return invalid("limit", "limit must be between 1 and 1000")
		}
	}
	tab, next, err := list(c.Request().Context(), s.scope(c), q)
	if err != nil {
		return err
	}
	if csvOut {
		if next != "" {
			c.Response().Header().Set("X-Next-Cursor", next)
		}
		return s.writeCSV(c, endpoint, tab)
	}
	out := map[string]any{"rows": objects(tab)}
	if next != "" {
		out["next_cursor"] = next
	}
	return c.JSON(http.StatusOK, out)
}
