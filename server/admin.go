package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"webusage/geo"
	"webusage/org"
	"webusage/privacy"
	"webusage/store"
)

func (s *Server) handleGetOrganization(c echo.Context) error {
	return c.JSON(http.StatusOK, s.current().org.Ruleset())
}

// handlePutOrganization replaces the whole ruleset atomically after
// validating it. Roles that would point to a removed entity or
// classification value are refused until fixed.
func (s *Server) handlePutOrganization(c echo.Context) error {
	var rs org.Ruleset
	if err := s.readJSON(c, &rs); err != nil {
		return err
	}
	o, err := org.Compile(rs)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// Roles are checked and the ruleset replaced under the state lock, so a
	// role saved meanwhile cannot point to a removed entity.
	err = s.change(ctx, func(*state) error {
		roles, err := s.store.ListRoles(ctx)
		if err != nil {
			return err
		}
		for _, r := range roles {
			if err := r.Validate(o); err != nil {
				return &apiError{Status: http.StatusConflict, Code: CodeConflict, Field: "entities",
					Message: fmt.Sprintf("role %q would no longer be valid (%v); change the role first", r.Name, err)}
			}
		}
		return s.store.PutConfig(ctx, who(c).actor(), store.ConfigOrganization, o.Ruleset(), "organization.replace")
	})
	if err != nil {
		return err
	}
	s.auth.clear()
	return c.JSON(http.StatusOK, o.Ruleset())
}

func (s *Server) handleGetLocations(c echo.Context) error {
	return c.JSON(http.StatusOK, s.current().sites)
}

func (s *Server) handlePutLocations(c echo.Context) error {
	var sites geo.Sites
	if err := s.readJSON(c, &sites); err != nil {
		return err
	}
	if _, err := geo.Compile(sites); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.change(ctx, func(*state) error {
		return s.store.PutConfig(ctx, who(c).actor(), store.ConfigLocations, sites, "locations.replace")
	}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sites)
}

// --- roles ---

func (s *Server) handleListRoles(c echo.Context) error {
	roles, err := s.store.ListRoles(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"roles": roles})
}

func (s *Server) handleGetRole(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := s.store.GetRole(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) handleCreateRole(c echo.Context) error {
	var r privacy.Role
	if err := s.readJSON(c, &r); err != nil {
		return err
	}
	r.ID, r.Builtin = 0, false
	ctx := c.Request().Context()
	err := s.change(ctx, func(st *state) error {
		if err := r.Validate(st.org); err != nil {
			return err
		}
		var err error
		r, err = s.store.CreateRole(ctx, who(c).actor(), r)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) handleUpdateRole(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var r privacy.Role
	if err := s.readJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.store.GetRole(ctx, id)
	if err != nil {
		return err
	}
	if r.Type != old.Type {
		return invalid("type", "a %s role cannot be converted into another type", old.Type)
	}
	r.ID, r.Builtin = id, false
	err = s.change(ctx, func(st *state) error {
		if err := r.Validate(st.org); err != nil {
			return err
		}
		return s.store.UpdateRole(ctx, who(c).actor(), r, func(users []store.Account) error {
			for _, a := range users {
				if _, err := s.accessWith(c, a, r); err != nil {
					return &apiError{Status: http.StatusConflict, Code: CodeConflict, Field: "permissions",
						Message: fmt.Sprintf("account %q would combine permissions that need full view domain with a limited one", a.Name)}
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.auth.clear()
	return c.JSON(http.StatusOK, r)
}

// accessWith resolves an account's access as if role changed to r.
func (s *Server) accessWith(c echo.Context, a store.Account, r privacy.Role) (privacy.Access, error) {
	ctx := c.Request().Context()
	get := func(id int64) (privacy.Role, error) {
		if id == r.ID {
			return r, nil
		}
		return s.store.GetRole(ctx, id)
	}
	main, err := get(a.MainRoleID)
	if err != nil {
		return privacy.Access{}, err
	}
	var extra []privacy.Role
	for _, id := range a.AdditionalRoles {
		x, err := get(id)
		if err != nil {
			return privacy.Access{}, err
		}
		extra = append(extra, x)
	}
	return privacy.Resolve(main, extra)
}

func (s *Server) handleDeleteRole(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteRole(c.Request().Context(), who(c).actor(), id); err != nil {
		return err
	}
	s.auth.clear()
	return c.NoContent(http.StatusNoContent)
}

// --- accounts ---

type accountRequest struct {
	Name            string `json:"name"`
	MainRole        any    `json:"main_role"`
	AdditionalRoles []any  `json:"additional_roles"`
}

// roleRef finds a role by id (number or numeric string) or by name.
func (s *Server) roleRef(c echo.Context, field string, ref any) (privacy.Role, error) {
	ctx := c.Request().Context()
	var r privacy.Role
	var err error
	switch v := ref.(type) {
	case float64:
		r, err = s.store.GetRole(ctx, int64(v))
	case string:
		if id, perr := strconv.ParseInt(v, 10, 64); perr == nil {
			r, err = s.store.GetRole(ctx, id)
		} else {
			r, err = s.store.RoleByName(ctx, v)
		}
	default:
		return r, invalid(field, "%s must be a role id or name", field)
	}
	if errors.Is(err, store.ErrNotFound) {
		return r, invalid(field, "no such role")
	}
	return r, err
}

func (s *Server) handleCreateAccount(c echo.Context) error {
	var req accountRequest
	if err := s.readJSON(c, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return invalid("name", "name is required")
	}
	if err := checkString("name", req.Name, maxNameLen); err != nil {
		return err
	}
	main, err := s.roleRef(c, "main_role", req.MainRole)
	if err != nil {
		return err
	}
	if main.Type != privacy.MainRole {
		return invalid("main_role", "main_role must be a main role")
	}
	acct := store.Account{Name: req.Name, MainRoleID: main.ID}
	var extra []privacy.Role
	for i, ref := range req.AdditionalRoles {
		field := "additional_roles[" + strconv.Itoa(i) + "]"
		r, err := s.roleRef(c, field, ref)
		if err != nil {
			return err
		}
		if r.Type != privacy.AdditionalRole {
			return invalid(field, "%s must be an additional role", field)
		}
		extra = append(extra, r)
		acct.AdditionalRoles = append(acct.AdditionalRoles, r.ID)
	}
	if _, err := privacy.Resolve(main, extra); err != nil {
		return err
	}
	token := NewToken(AccountTokenPrefix)
	h := HashToken(token)
	acct, err = s.store.CreateAccount(c.Request().Context(), who(c).actor(), acct, h[:])
	if err != nil {
		return err
	}
	if acct.AdditionalRoles == nil {
		acct.AdditionalRoles = []int64{}
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": acct.ID, "name": acct.Name, "main_role": acct.MainRoleID,
		"additional_roles": acct.AdditionalRoles, "token": token})
}

func (s *Server) handleListAccounts(c echo.Context) error {
	list, err := s.store.ListAccounts(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"accounts": list})
}

func (s *Server) handleGetAccount(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := s.store.GetAccount(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) handleDeleteAccount(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteAccount(c.Request().Context(), who(c).actor(), id); err != nil {
		return err
	}
	s.auth.clear()
	return c.NoContent(http.StatusNoContent)
}

// --- tokens ---

type tokenRequest struct {
	Name string `json:"name"`
}

func (s *Server) readTokenName(c echo.Context) (string, error) {
	var req tokenRequest
	if c.Request().ContentLength != 0 {
		if err := s.readJSON(c, &req); err != nil {
			return "", err
		}
	}
	return req.Name, checkString("name", req.Name, maxNameLen)
}

func (s *Server) handleListAccountTokens(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	list, err := s.store.ListTokens(c.Request().Context(), store.TokenAccount, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

func (s *Server) handleCreateAccountToken(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	name, err := s.readTokenName(c)
	if err != nil {
		return err
	}
	token := NewToken(AccountTokenPrefix)
	h := HashToken(token)
	t, err := s.store.CreateToken(c.Request().Context(), who(c).actor(), store.TokenAccount, id, name, h[:])
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "created_at": t.CreatedAt, "token": token})
}

func (s *Server) handleRevokeAccountToken(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tid, err := pathID(c, "token")
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(c.Request().Context(), who(c).actor(), store.TokenAccount, id, tid); err != nil {
		return err
	}
	s.auth.clear()
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) handleListEnrollmentTokens(c echo.Context) error {
	list, err := s.store.ListTokens(c.Request().Context(), store.TokenEnrollment, 0)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

func (s *Server) handleCreateEnrollmentToken(c echo.Context) error {
	name, err := s.readTokenName(c)
	if err != nil {
		return err
	}
	token := NewToken(EnrollmentTokenPrefix)
	h := HashToken(token)
	t, err := s.store.CreateToken(c.Request().Context(), who(c).actor(), store.TokenEnrollment, 0, name, h[:])
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "created_at": t.CreatedAt, "token": token})
}

func (s *Server) handleRevokeEnrollmentToken(c echo.Context) error {
	tid, err := pathID(c, "token")
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(c.Request().Context(), who(c).actor(), store.TokenEnrollment, 0, tid); err != nil {
		return err
	}
	s.auth.clear()
	return c.NoContent(http.StatusNoContent)
}

// --- audit ---

func (s *Server) handleAudit(c echo.Context) error {
	q := store.AuditQuery{Action: c.QueryParam("action")}
	var err error
	if v := c.QueryParam("from"); v != "" {
		if q.From, err = parseTime(v); err != nil {
			return invalid("from", "from must be RFC 3339, YYYY-MM-DD or epoch milliseconds")
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if q.To, err = parseTime(v); err != nil {
			return invalid("to", "to must be RFC 3339, YYYY-MM-DD or epoch milliseconds")
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 1000 {
			return invalid("limit", "limit must be between 1 and 1000")
		}
	}
	if v := c.QueryParam("cursor"); v != "" {
		if q.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || q.BeforeID < 1 {
			return invalid("cursor", "invalid cursor")
		}
	}
	list, err := s.store.ListAudit(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := map[string]any{"entries": list}
	if limit := q.Limit; (limit == 0 && len(list) == 1000) || (limit > 0 && len(list) == limit) {
		out["next_cursor"] = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return c.JSON(http.StatusOK, out)
}
