package server

import (
	"archive/zip"
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"webusage/privacy"
	"webusage/store"
)

// RetentionInterval is how often the background job applies retention.
const RetentionInterval = time.Hour

// dataRoutes registers the data-management endpoints (/api/v1/data/...).
// Every one needs the data_management permission, a full view domain and
// every data class visible, and is audited with the subject named by keyed
// hash.
func (s *Server) dataRoutes(api *echo.Group) {
	s.retentionMetrics() // listed in /metrics from the start
	g := api.Group("/data", s.requireAccount(privacy.DataManagement), s.requireFullVisibility)
	g.GET("/users/:name", s.handleDataExportUser)
	g.DELETE("/users/:name", s.handleDataDeleteUser)
	g.DELETE("/devices/:id", s.handleDataDeleteDevice)
	g.POST("/anonymize", s.handleDataAnonymize)
	g.GET("/retention", s.handleDataRetention)
	g.POST("/retention/run", s.handleDataRetentionRun)
}

// requireFullVisibility admits only accounts that see everything: a full
// view domain and no hidden data class. Whoever answers a data-subject
// request must see all the data about the subject.
func (s *Server) requireFullVisibility(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := who(c).access
		if !a.FullDomain() {
			return forbidden("", "data management needs a full view domain")
		}
		for _, cl := range privacy.Classes() {
			if a.Hidden(cl) {
				return forbidden("", "data management needs every data class visible; your roles hide "+string(cl))
			}
		}
		return next(c)
	}
}

// subjectParam returns the path parameter name, unescaped once.
func subjectParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath != "" {
		u, err := url.PathUnescape(v)
		if err != nil {
			return "", invalid(name, "%s is not a valid path segment", name)
		}
		v = u
	}
	if v == "" {
		return "", invalid(name, "%s is required", name)
	}
	if err := checkString(name, v, maxNameLen); err != nil {
		return "", err
	}
	return v, nil
}

// handleDataExportUser answers a data-subject access request: everything
// stored about the user, as JSON or (format=zip) a zip of one CSV per table.
func (s *Server) handleDataExportUser(c echo.Context) error {
	name, err := subjectParam(c, "name")
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "zip" {
		return invalid("format", "format must be json or zip")
	}
	exp, err := s.store.ExportUser(c.Request().Context(), who(c).actor(), name)
	if err != nil {
		return err
	}
	at := s.now().UTC()
	if format == "zip" {
		return writeExportZip(c, exp, at)
	}
	tables := make(map[string][]map[string]any, len(exp.Tables))
	for _, t := range exp.Tables {
		rows := make([]map[string]any, 0, len(t.Rows))
		for _, r := range t.Rows {
			m := make(map[string]any, len(t.Columns))
			for i, col := range t.Columns {
				m[col] = r[i]
			}
			rows = append(rows, m)
		}
		tables[t.Name] = rows
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="webusage-user-export.json"`)
	return c.JSON(http.StatusOK, map[string]any{"exported_at": at.Format(time.RFC3339), "tables": tables})
}

func writeExportZip(c echo.Context, exp store.UserExport, at time.Time) error {
	h := c.Response().Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="webusage-user-export.zip"`)
	c.Response().WriteHeader(http.StatusOK)
	zw := zip.NewWriter(c.Response())
	for _, t := range exp.Tables {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: t.Name + ".csv", Method: zip.Deflate, Modified: at})
		if err != nil {
			return err
		}
		if err := writeTableCSV(f, t.Table); err != nil {
			return err
		}
	}
	return zw.Close()
}

// handleDataDeleteUser erases a user and everything tied to them.
func (s *Server) handleDataDeleteUser(c echo.Context) error {
	name, err := subjectParam(c, "name")
	if err != nil {
		return err
	}
	res, err := s.store.EraseUser(c.Request().Context(), who(c).actor(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// handleDataDeleteDevice erases the devices with that extension id or name
// and everything tied to them.
func (s *Server) handleDataDeleteDevice(c echo.Context) error {
	id, err := subjectParam(c, "id")
	if err != nil {
		return err
	}
	res, err := s.store.EraseDevice(c.Request().Context(), who(c).actor(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

type anonymizeRequest struct {
	Users   bool `json:"users"`
	Devices bool `json:"devices"`
}

// handleDataAnonymize switches the storage policy to anonymized names for
// users and/or devices, then rewrites the names already stored.
func (s *Server) handleDataAnonymize(c echo.Context) error {
	var req anonymizeRequest
	if err := s.readJSON(c, &req); err != nil {
		return err
	}
	if !req.Users && !req.Devices {
		return invalid("users", "set users and/or devices to true")
	}
	ctx := c.Request().Context()
	actor := who(c).actor()
	// The policy first, so new data stops arriving in clear; the pass
	// over stored names follows (and the background job repeats it).
	username, err := s.anonymizePolicy(ctx, actor, req)
	if err != nil {
		return err
	}
	res, err := s.store.Anonymize(ctx, &actor, req.Users, req.Devices)
	if err != nil {
		return err
	}
	var policy store.Anonymization
	if _, err := s.store.GetConfig(ctx, store.ConfigAnonymization, &policy); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"anonymized": res, "username": username, "policy": policy})
}

// anonymizePolicy records the anonymization policy and, for users, moves the
// username setting from clear to hashed ("none" stays none). It returns the
// username setting now in force.
func (s *Server) anonymizePolicy(ctx context.Context, actor store.Actor, req anonymizeRequest) (string, error) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	settings := s.current().settings
	if req.Users && settings.Username == string(privacy.UsernameClear) {
		settings.Username = string(privacy.UsernameHashed)
		if err := s.store.PutConfig(ctx, actor, store.ConfigSettings, settings, "settings.update:username"); err != nil {
			return "", err
		}
	}
	var policy store.Anonymization
	if _, err := s.store.GetConfig(ctx, store.ConfigAnonymization, &policy); err != nil {
		return "", err
	}
	now := s.now().UTC()
	if req.Users && !policy.Users {
		policy.Users, policy.UsersAt = true, &now
	}
	if req.Devices && !policy.Devices {
		policy.Devices, policy.DevicesAt = true, &now
	}
	if err := s.store.PutConfig(ctx, actor, store.ConfigAnonymization, policy, "data.anonymize.policy"); err != nil {
		return "", err
	}
	if err := s.reload(ctx); err != nil {
		return "", err
	}
	return settings.Username, nil
}

// retentionPolicy is what the settings say has expired at now.
func retentionPolicy(st Settings, now time.Time) store.RetentionPolicy {
	return store.RetentionPolicy{
		EventsBefore:   now.Add(-time.Duration(st.RetentionDays) * 24 * time.Hour),
		InactiveBefore: now.Add(-time.Duration(st.InactiveRetentionDays) * 24 * time.Hour),
	}
}

// handleDataRetention reports the retention settings, what has expired now
// and the last run.
func (s *Server) handleDataRetention(c echo.Context) error {
	ctx := c.Request().Context()
	st := s.current().settings
	p := retentionPolicy(st, s.now())
	pending, err := s.store.PendingRetention(ctx, p)
	if err != nil {
		return err
	}
	var last *store.RetentionRun
	var run store.RetentionRun
	if found, err := s.store.GetConfig(ctx, store.ConfigRetentionLastRun, &run); err != nil {
		return err
	} else if found {
		last = &run
	}
	return c.JSON(http.StatusOK, map[string]any{
		"retention_days":          st.RetentionDays,
		"inactive_retention_days": st.InactiveRetentionDays,
		"events_before":           p.EventsBefore.UTC(),
		"inactive_before":         p.InactiveBefore.UTC(),
		"interval_seconds":        int(RetentionInterval / time.Second),
		"pending":                 pending,
		"last_run":                last,
	})
}

// handleDataRetentionRun applies retention now and answers with the report.
func (s *Server) handleDataRetentionRun(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.store.Audit(ctx, who(c).actor(), "data.retention.run", ""); err != nil {
		return err
	}
	run, err := s.runRetention(ctx)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

// StartBackground starts the data-management job and returns at once: it
// applies retention (and repeats the anonymization pass when anonymization
// is on, catching names that arrived while the policy changed) now and every
// RetentionInterval until ctx is done. Call it once, after New.
func (s *Server) StartBackground(ctx context.Context) {
	go func() {
		t := time.NewTicker(RetentionInterval)
		defer t.Stop()
		for {
			if _, err := s.runRetention(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("retention run failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// runRetention applies the current retention settings, records the run and
// updates the metrics.
func (s *Server) runRetention(ctx context.Context) (store.RetentionRun, error) {
	m := s.retentionMetrics()
	start := s.now()
	p := retentionPolicy(s.current().settings, start)
	res, err := s.store.ApplyRetention(ctx, p)
	for table, n := range res.Deleted {
		m.deleted.WithLabelValues(table).Add(float64(n))
	}
	if err == nil {
		var policy store.Anonymization
		if _, err = s.store.GetConfig(ctx, store.ConfigAnonymization, &policy); err == nil && (policy.Users || policy.Devices) {
			_, err = s.store.Anonymize(ctx, nil, policy.Users, policy.Devices)
		}
	}
	run := store.RetentionRun{Started: start.UTC(), Finished: s.now().UTC(), EventsBefore: p.EventsBefore.UTC(),
		InactiveBefore: p.InactiveBefore.UTC(), Deleted: res.Deleted}
	m.lastRun.Set(float64(run.Finished.UnixMilli()) / 1000)
	if err != nil {
		m.runs.WithLabelValues("error").Inc()
		run.Error = "retention run failed"
		if errors.Is(err, context.Canceled) {
			run.Error = "retention run interrupted"
		}
	} else {
		m.runs.WithLabelValues("ok").Inc()
		m.lastSuccess.Set(float64(run.Finished.UnixMilli()) / 1000)
	}
	if rerr := s.store.RecordRetentionRun(context.WithoutCancel(ctx), run); rerr != nil && err == nil {
		err = rerr
	}
	return run, err
}

// retentionMetricSet are the retention job's metrics.
type retentionMetricSet struct {
	deleted     *prometheus.CounterVec
	runs        *prometheus.CounterVec
	lastRun     prometheus.Gauge
	lastSuccess prometheus.Gauge
}

// retentionMetrics registers the retention metrics on the server's registry
// the first time and returns the registered ones afterwards.
func (s *Server) retentionMetrics() retentionMetricSet {
	reg := s.metrics.reg
	m := retentionMetricSet{
		deleted: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "webusage_retention_deleted_rows_total",
			Help: "Rows deleted by the retention job, by table."}, []string{"table"})),
		runs: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "webusage_retention_runs_total",
			Help: "Retention runs, by result (ok, error)."}, []string{"result"})),
		lastRun: registerOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "webusage_retention_last_run_timestamp_seconds",
			Help: "When the last retention run finished (Unix time)."})),
		lastSuccess: registerOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "webusage_retention_last_success_timestamp_seconds",
			Help: "When the last successful retention run finished (Unix time)."})),
	}
	for _, t := range []string{"events", "devices", "users"} {
		m.deleted.WithLabelValues(t)
	}
	for _, r := range []string{"ok", "error"} {
		m.runs.WithLabelValues(r)
	}
	return m
}

// registerOrReuse registers c, or returns the collector already registered
// with the same description.
func registerOrReuse[T prometheus.Collector](reg *prometheus.Registry, c T) T {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	panic("server: register retention metric: " + err.Error())
}
