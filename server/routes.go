package server

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"webusage/privacy"
)

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.accessLog, s.recoverer)

	e.GET("/healthz", s.handleHealth)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))

	api := e.Group("/api/v1")
	api.GET("/meta", s.handleMeta)

	// The extension: enrollment token, CORS so it needs no host permission.
	api.OPTIONS("/extension/config", s.preflight, s.cors)
	api.OPTIONS("/events", s.preflight, s.cors)
	api.GET("/extension/config", s.handleExtensionConfig, s.cors, s.requireEnrollment)
	api.POST("/events", s.handleEvents, s.cors, s.requireEnrollment)

	anyAccount := s.requireAccount()
	admin := s.requireAccount(privacy.Administrator)
	manageApps := s.requireAccount(privacy.ManageApplications)
	view := s.requireAccount(privacy.ViewWebUsage)

	api.POST("/sanitize", s.handleSanitize, anyAccount)
	api.GET("/me", s.handleMe, anyAccount)

	api.GET("/settings", s.handleGetSettings, admin)
	api.PATCH("/settings", s.handlePatchSettings, admin)

	api.GET("/applications", s.handleListApplications, s.requireAccount())
	api.POST("/applications", s.handleCreateApplication, manageApps)
	api.GET("/applications/:id", s.handleGetApplication, s.requireAccount())
	api.PUT("/applications/:id", s.handleUpdateApplication, manageApps)
	api.DELETE("/applications/:id", s.handleDeleteApplication, manageApps)

	api.GET("/organization", s.handleGetOrganization, admin)
	api.PUT("/organization", s.handlePutOrganization, admin)
	api.GET("/locations", s.handleGetLocations, admin)
	api.PUT("/locations", s.handlePutLocations, admin)

	api.GET("/roles", s.handleListRoles, admin)
	api.POST("/roles", s.handleCreateRole, admin)
	api.GET("/roles/:id", s.handleGetRole, admin)
	api.PUT("/roles/:id", s.handleUpdateRole, admin)
	api.DELETE("/roles/:id", s.handleDeleteRole, admin)

	api.GET("/accounts", s.handleListAccounts, admin)
	api.POST("/accounts", s.handleCreateAccount, admin)
	api.GET("/accounts/:id", s.handleGetAccount, admin)
	api.DELETE("/accounts/:id", s.handleDeleteAccount, admin)
	api.GET("/accounts/:id/tokens", s.handleListAccountTokens, admin)
	api.POST("/accounts/:id/tokens", s.handleCreateAccountToken, admin)
	api.DELETE("/accounts/:id/tokens/:token", s.handleRevokeAccountToken, admin)

	api.GET("/enrollment-tokens", s.handleListEnrollmentTokens, admin)
	api.POST("/enrollment-tokens", s.handleCreateEnrollmentToken, admin)
	api.DELETE("/enrollment-tokens/:token", s.handleRevokeEnrollmentToken, admin)

	api.GET("/audit", s.handleAudit, s.requireAccount(privacy.ViewAuditLog))

	api.GET("/usage", s.handleUsage, view)
	api.GET("/usage/events", s.handleUsageEvents, view)

	s.listingRoutes(api)
	s.dataRoutes(api)
	return e
}

// accessLog logs each request at debug level by its route pattern (never the
// raw path, which can carry a user name, nor the query or the client IP).
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if s.log.Enabled(c.Request().Context(), slog.LevelDebug) {
			status := c.Response().Status
			var ae *apiError
			if errors.As(err, &ae) {
				status = ae.Status
			} else if err != nil {
				status = 0 // mapped by the error handler after this logs
			}
			s.log.Debug("request", "method", c.Request().Method, "route", c.Path(), "status", status,
				"duration_ms", time.Since(start).Milliseconds())
		}
		return err
	}
}

func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in handler", "route", c.Path(), "panic", r)
				err = &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
			}
		}()
		return next(c)
	}
}

// cors lets the extension (any origin: it authenticates with a bearer token,
// never cookies) call its two endpoints.
func (s *Server) cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		h.Set("Access-Control-Max-Age", "600")
		return next(c)
	}
}

func (s *Server) preflight(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

func (s *Server) handleHealth(c echo.Context) error {
	if err := s.store.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "time": s.now().UTC().Format(time.RFC3339)})
}
