package server

import "github.com/labstack/echo/v4"

// listingRoutes registers the device and user listings (/api/v1/devices,
// /api/v1/users).
func (s *Server) listingRoutes(api *echo.Group) {}
