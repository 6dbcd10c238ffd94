package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"webusage/privacy"
	"webusage/store"
)

// principal is who a request authenticated as.
type principal struct {
	kind      string // store.TokenAccount or store.TokenEnrollment
	accountID int64
	name      string
	access    privacy.Access
}

func (p *principal) actor() store.Actor { return store.Actor{AccountID: p.accountID, Name: p.name} }

// authCache keeps authenticated tokens in memory; any change to tokens,
// accounts or roles clears it, so a revocation takes effect at once.
type authCache struct {
	mu sync.RWMutex
	m  map[[32]byte]*principal
}

func (a *authCache) get(h [32]byte) *principal {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.m[h]
}

func (a *authCache) put(h [32]byte, p *principal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m) > 10_000 {
		a.m = make(map[[32]byte]*principal)
	}
	a.m[h] = p
}

func (a *authCache) clear() {
	a.mu.Lock()
	a.m = nil
	a.mu.Unlock()
}

// HashToken returns the stored form of a token.
func HashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// NewToken returns a random token with a prefix saying what it is for.
func NewToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Token prefixes.
const (
	AccountTokenPrefix    = "wua_"
	EnrollmentTokenPrefix = "wue_"
)

const ctxPrincipal = "principal"

func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 256
}

func (s *Server) authenticate(ctx context.Context, token string) (*principal, error) {
	h := HashToken(token)
	if p := s.auth.get(h); p != nil {
		return p, nil
	}
	pr, err := s.store.Authenticate(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	p := &principal{kind: pr.Kind, accountID: pr.AccountID, name: "enrollment"}
	if pr.Kind == store.TokenAccount {
		acct, err := s.store.GetAccount(ctx, pr.AccountID)
		if err != nil {
			return nil, err
		}
		access, err := s.accessOf(ctx, acct)
		if err != nil {
			return nil, err
		}
		p.name, p.access = acct.Name, access
	}
	s.auth.put(h, p)
	return p, nil
}

// accessOf resolves an account's effective rights from its roles.
func (s *Server) accessOf(ctx context.Context, acct store.Account) (privacy.Access, error) {
	main, err := s.store.GetRole(ctx, acct.MainRoleID)
	if err != nil {
		return privacy.Access{}, err
	}
	extra := make([]privacy.Role, 0, len(acct.AdditionalRoles))
	for _, id := range acct.AdditionalRoles {
		r, err := s.store.GetRole(ctx, id)
		if err != nil {
			return privacy.Access{}, err
		}
		extra = append(extra, r)
	}
	return privacy.Resolve(main, extra)
}

// principalOf authenticates the request's bearer token and checks that it is
// of kind (store.TokenEnrollment or store.TokenAccount).
func (s *Server) principalOf(c echo.Context, kind string) (*principal, error) {
	tok, ok := bearer(c)
	if !ok {
		return nil, errUnauthorized
	}
	p, err := s.authenticate(c.Request().Context(), tok)
	if err != nil {
		return nil, err
	}
	if p.kind != kind {
		return nil, forbidden("", "this endpoint needs an "+kind+" token")
	}
	return p, nil
}

// requireEnrollment admits requests bearing a live enrollment token.
func (s *Server) requireEnrollment(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.principalOf(c, store.TokenEnrollment)
		if err != nil {
			return err
		}
		c.Set(ctxPrincipal, p)
		return next(c)
	}
}

// requireAccount admits requests bearing a live account token whose roles
// grant every permission in perms.
func (s *Server) requireAccount(perms ...privacy.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := s.principalOf(c, store.TokenAccount)
			if err != nil {
				return err
			}
			for _, perm := range perms {
				if !p.access.Can(perm) {
					return forbidden("", "your roles do not grant the "+string(perm)+" permission")
				}
			}
			c.Set(ctxPrincipal, p)
			return next(c)
		}
	}
}

func who(c echo.Context) *principal {
	p, _ := c.Get(ctxPrincipal).(*principal)
	return p
}
