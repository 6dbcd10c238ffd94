package server

import "github.com/labstack/echo/v4"

// dataRoutes registers the data-management endpoints (/api/v1/data/...).
func (s *Server) dataRoutes(api *echo.Group) {}
