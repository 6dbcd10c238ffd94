package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"webusage/privacy"
	"webusage/sanitize"
	"webusage/store"
	"webusage/webapps"
)

// readJSON decodes a bounded JSON body into dst, refusing unknown fields and
// naming the offending one.
func (s *Server) readJSON(c echo.Context, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return tooLarge(s.cfg.MaxBodyBytes)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return invalid(f, "unknown field %q", f)
		}
		return jsonError(err)
	}
	return nil
}

func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

func (s *Server) handleMeta(c echo.Context) error {
	out := map[string]any{"service": "webusage", "sanitizer_version": sanitize.Version}
	geoInfo := map[string]any{"enabled": s.geo != nil}
	if s.geo != nil {
		geoInfo["sources"] = s.geo.Sources()
		geoInfo["attribution"] = s.geo.Attributions()
	}
	out["geolocation"] = geoInfo
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleMe(c echo.Context) error {
	p := who(c)
	return c.JSON(http.StatusOK, map[string]any{"account": p.name, "id": p.accountID,
		"permissions": p.access.Permissions(), "privacy": p.access.Privacy(), "view_domain": p.access.ViewDomain()})
}

// extensionConfig is what the extension needs to know.
type extensionConfig struct {
	CollectWebUsage bool              `json:"collect_web_usage"`
	CollectURLs     bool              `json:"collect_urls"`
	Applications    []extensionAppDef `json:"applications"`
	IdleSeconds     int               `json:"idle_seconds"`
	FlushSeconds    int               `json:"flush_seconds"`
}

type extensionAppDef struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Patterns    []string `json:"patterns"`
	CollectURLs bool     `json:"collect_urls"`
}

func (s *Server) handleExtensionConfig(c echo.Context) error {
	st := s.current()
	cfg := extensionConfig{
		CollectWebUsage: st.settings.CollectWebUsage,
		CollectURLs:     st.settings.CollectURLs,
		Applications:    make([]extensionAppDef, 0, len(st.appList)),
		IdleSeconds:     st.settings.ExtensionIdleSeconds,
		FlushSeconds:    st.settings.ExtensionFlushSeconds,
	}
	for _, a := range st.appList {
		cfg.Applications = append(cfg.Applications, extensionAppDef{ID: a.ID, Name: a.Name, Patterns: a.Patterns,
			CollectURLs: st.settings.CollectURLs && a.CollectURLs})
	}
	if !st.settings.CollectWebUsage {
		cfg.Applications = cfg.Applications[:0] // nothing to measure: nothing leaves the browser
	}
	return c.JSON(http.StatusOK, cfg)
}

func (s *Server) handleGetSettings(c echo.Context) error {
	return c.JSON(http.StatusOK, s.current().settings)
}

func (s *Server) handlePatchSettings(c echo.Context) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return tooLarge(s.cfg.MaxBodyBytes)
	}
	ctx := c.Request().Context()
	var next Settings
	err = s.change(ctx, func(st *state) error {
		n, changed, err := st.settings.patch(body)
		if err != nil {
			return err
		}
		next = n
		return s.store.PutConfig(ctx, who(c).actor(), store.ConfigSettings, n, "settings.update:"+strings.Join(changed, ","))
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, next)
}

// applicationRequest is the body of POST/PUT /applications.
type applicationRequest struct {
	Name             string   `json:"name"`
	Patterns         []string `json:"patterns"`
	CollectURLs      bool     `json:"collect_urls"`
	AllowedQueryKeys []string `json:"allowed_query_keys"`
}

const (
	maxPatterns      = 100
	maxAllowedKeys   = 50
	maxAppNameLength = 200
)

func (r applicationRequest) validate() (webapps.Application, error) {
	a := webapps.Application{Name: strings.TrimSpace(r.Name), Patterns: r.Patterns, CollectURLs: r.CollectURLs,
		AllowedQueryKeys: r.AllowedQueryKeys}
	if a.Name == "" {
		return a, invalid("name", "name is required")
	}
	if err := checkString("name", a.Name, maxAppNameLength); err != nil {
		return a, err
	}
	if len(a.Patterns) == 0 {
		return a, invalid("patterns", "at least one pattern is required")
	}
	if len(a.Patterns) > maxPatterns {
		return a, invalid("patterns", "at most %d patterns", maxPatterns)
	}
	for i, p := range a.Patterns {
		if _, err := webapps.ParsePattern(p); err != nil {
			var pe *webapps.PatternError
			msg := "invalid pattern"
			if e, ok := err.(*webapps.PatternError); ok {
				pe = e
				msg = "invalid pattern: " + pe.Reason
			}
			return a, invalid("patterns["+strconv.Itoa(i)+"]", "%s", msg)
		}
	}
	if len(a.AllowedQueryKeys) > maxAllowedKeys {
		return a, invalid("allowed_query_keys", "at most %d keys", maxAllowedKeys)
	}
	for i, k := range a.AllowedQueryKeys {
		if err := sanitize.CheckAllowedQueryKey(k); err != nil {
			return a, invalid("allowed_query_keys["+strconv.Itoa(i)+"]", "%s", err.Error())
		}
	}
	if a.AllowedQueryKeys == nil {
		a.AllowedQueryKeys = []string{}
	}
	return a, nil
}

// visibleApp hides an application's patterns and query keys (hosts and
// paths: destinations) from callers whose roles hide destinations, unless
// they manage applications.
func visibleApp(p *principal, a webapps.Application) webapps.Application {
	if p.access.Can(privacy.ManageApplications) || !p.access.Hidden(privacy.Destinations) {
		return a
	}
	a.Patterns, a.AllowedQueryKeys = []string{}, []string{}
	return a
}

func (s *Server) handleListApplications(c echo.Context) error {
	list := s.current().appList
	out := make([]webapps.Application, len(list))
	for i, a := range list {
		out[i] = visibleApp(who(c), a)
	}
	return c.JSON(http.StatusOK, map[string]any{"applications": out})
}

func (s *Server) handleGetApplication(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, ok := s.current().apps[id]
	if !ok {
		return errNotFound
	}
	return c.JSON(http.StatusOK, visibleApp(who(c), a))
}

func (s *Server) handleCreateApplication(c echo.Context) error {
	var req applicationRequest
	if err := s.readJSON(c, &req); err != nil {
		return err
	}
	a, err := req.validate()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.change(ctx, func(*state) error {
		a, err = s.store.CreateApplication(ctx, who(c).actor(), a)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (s *Server) handleUpdateApplication(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req applicationRequest
	if err := s.readJSON(c, &req); err != nil {
		return err
	}
	a, err := req.validate()
	if err != nil {
		return err
	}
	a.ID = id
	ctx := c.Request().Context()
	if err := s.change(ctx, func(*state) error { return s.store.UpdateApplication(ctx, who(c).actor(), a) }); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) handleDeleteApplication(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.change(ctx, func(*state) error { return s.store.DeleteApplication(ctx, who(c).actor(), id) }); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// maxSanitizeURLs bounds one sanitize request.
const maxSanitizeURLs = 1000

func (s *Server) handleSanitize(c echo.Context) error {
	var req struct {
		URLs             []string `json:"urls"`
		AllowedQueryKeys []string `json:"allowed_query_keys"`
	}
	if err := s.readJSON(c, &req); err != nil {
		return err
	}
	if req.URLs == nil {
		return invalid("urls", "urls is required")
	}
	if len(req.URLs) > maxSanitizeURLs {
		return invalid("urls", "at most %d urls per request", maxSanitizeURLs)
	}
	for i, k := range req.AllowedQueryKeys {
		if err := sanitize.CheckAllowedQueryKey(k); err != nil {
			return invalid("allowed_query_keys["+strconv.Itoa(i)+"]", "%s", err.Error())
		}
	}
	type result struct {
		URL      string `json:"url"`
		Template string `json:"template"`
		Error    string `json:"error,omitempty"`
	}
	opts := sanitize.Options{AllowedQueryKeys: req.AllowedQueryKeys}
	out := make([]result, len(req.URLs))
	for i, u := range req.URLs {
		r, err := sanitize.URL(u, opts)
		if err != nil {
			out[i] = result{Error: err.Error()}
			continue
		}
		out[i] = result{URL: r.URL, Template: r.Template}
	}
	return c.JSON(http.StatusOK, map[string]any{"results": out, "version": sanitize.Version})
}
