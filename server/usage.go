package server

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"webusage/privacy"
	"webusage/store"
)

// parseTime accepts RFC 3339, YYYY-MM-DD (midnight UTC) or epoch milliseconds.
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// maxWindow bounds a query window.
const maxWindow = 400 * 24 * time.Hour

// window reads from/to. The default is the 30 whole UTC days ending with
// today (to = next midnight), which the rollups answer without scanning
// events; a default from is 30 days before to.
func (s *Server) window(c echo.Context) (from, to time.Time, err error) {
	to = s.now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if v := c.QueryParam("to"); v != "" {
		if to, err = parseTime(v); err != nil {
			return from, to, invalid("to", "to must be RFC 3339, YYYY-MM-DD or epoch milliseconds")
		}
	}
	from = to.Add(-30 * 24 * time.Hour)
	if v := c.QueryParam("from"); v != "" {
		if from, err = parseTime(v); err != nil {
			return from, to, invalid("from", "from must be RFC 3339, YYYY-MM-DD or epoch milliseconds")
		}
	}
	if !to.After(from) {
		return from, to, invalid("to", "to must be after from")
	}
	if to.Sub(from) > maxWindow {
		return from, to, invalid("from", "the window is longer than 400 days")
	}
	return from, to, nil
}

// reservedParams are query parameters that are not filters.
var reservedParams = map[string]bool{"from": true, "to": true, "group_by": true, "format": true, "limit": true,
	"cursor": true, "sort": true, "order": true}

// filters reads every non-reserved query parameter as a filter; the store
// refuses unknown or hidden fields by name.
func filters(q url.Values) map[string][]string {
	out := map[string][]string{}
	for k, vs := range q {
		if reservedParams[k] {
			continue
		}
		for _, v := range vs {
			if v != "" {
				out[k] = append(out[k], v)
			}
		}
		if len(out[k]) == 0 {
			out[k] = []string{""}
		}
	}
	return out
}

func (s *Server) scope(c echo.Context) store.Scope {
	return store.Scope{Access: who(c).access, Org: s.current().org}
}

// wantsCSV reports whether the caller asked for CSV; CSV is an export and
// needs the export_web_usage permission.
func wantsCSV(c echo.Context) bool {
	if f := c.QueryParam("format"); f != "" {
		return strings.EqualFold(f, "csv")
	}
	return strings.Contains(c.Request().Header.Get("Accept"), "text/csv")
}

func (s *Server) checkFormat(c echo.Context) (csvOut bool, err error) {
	if f := c.QueryParam("format"); f != "" && !strings.EqualFold(f, "csv") && !strings.EqualFold(f, "json") {
		return false, invalid("format", "format must be json or csv")
	}
	if !wantsCSV(c) {
		return false, nil
	}
	if !who(c).access.Can(privacy.ExportWebUsage) {
		return false, forbidden("format", "CSV export needs the export_web_usage permission")
	}
	return true, nil
}

func (s *Server) handleUsage(c echo.Context) error {
	csvOut, err := s.checkFormat(c)
	if err != nil {
		return err
	}
	from, to, err := s.window(c)
	if err != nil {
		return err
	}
	q := store.UsageQuery{From: from, To: to, Filters: filters(c.QueryParams()), Sort: c.QueryParam("sort")}
	if g := c.QueryParam("group_by"); g != "" {
		q.GroupBy = strings.Split(g, ",")
	}
	switch c.QueryParam("order") {
	case "", "desc":
		q.Desc = true
	case "asc":
	default:
		return invalid("order", "order must be asc or desc")
	}
	if v := c.QueryParam("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 {
			return invalid("limit", "limit must be a positive integer")
		}
	}
	tab, err := s.store.Usage(c.Request().Context(), s.scope(c), q)
	if err != nil {
		return err
	}
	if csvOut {
		return s.writeCSV(c, "usage", tab)
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "rows": objects(tab)})
}

func (s *Server) handleUsageEvents(c echo.Context) error {
	csvOut, err := s.checkFormat(c)
	if err != nil {
		return err
	}
	from, to, err := s.window(c)
	if err != nil {
		return err
	}
	q := store.EventsQuery{From: from, To: to, Filters: filters(c.QueryParams()), Cursor: c.QueryParam("cursor")}
	if v := c.QueryParam("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 1000 {
			return invalid("limit", "limit must be between 1 and 1000")
		}
	}
	if v := c.QueryParam("sort"); v != "" {
		return invalid("sort", "events are listed in storage order; sort is not supported here")
	}
	tab, next, err := s.store.Events(c.Request().Context(), s.scope(c), q)
	if err != nil {
		return err
	}
	if csvOut {
		if next != "" {
			c.Response().Header().Set("X-Next-Cursor", next)
		}
		return s.writeCSV(c, "usage/events", tab)
	}
	out := map[string]any{"rows": objects(tab)}
	if next != "" {
		out["next_cursor"] = next
	}
	return c.JSON(http.StatusOK, out)
}

// objects turns a table into JSON objects.
func objects(t store.Table) []map[string]any {
	out := make([]map[string]any, len(t.Rows))
	for i, r := range t.Rows {
		m := make(map[string]any, len(t.Columns))
		for j, col := range t.Columns {
			m[col] = r[j]
		}
		out[i] = m
	}
	return out
}

// writeCSV writes a table as CSV and records the export in the audit trail.
func (s *Server) writeCSV(c echo.Context, endpoint string, t store.Table) error {
	if err := s.store.Audit(c.Request().Context(), who(c).actor(), "export.csv",
		fmt.Sprintf("%s rows=%d", endpoint, len(t.Rows))); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="webusage-`+strings.ReplaceAll(endpoint, "/", "-")+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	return writeTableCSV(c.Response(), t)
}

// writeTableCSV writes a table as CSV with a header row.
func writeTableCSV(out io.Writer, t store.Table) error {
	w := csv.NewWriter(out)
	if err := w.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, r := range t.Rows {
		for i, v := range r {
			rec[i] = csvCell(v)
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// csvCell formats a value; text that a spreadsheet would run as a formula is
// prefixed with a quote.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		cells := make([]string, len(x))
		for i, c := range x {
			cells[i] = csvCell(c)
		}
		return strings.Join(cells, " ")
	}
	return fmt.Sprint(v)
}
