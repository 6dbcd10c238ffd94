// Package server is webusage's HTTP API: routes, authentication, the ingest
// pipeline and the query handlers. Storage and privacy enforcement live in
// the store; this package decodes, validates and maps errors.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"webusage/geo"
	"webusage/org"
	"webusage/store"
	"webusage/webapps"
)

// Config wires the server's dependencies and limits.
type Config struct {
	Store *store.Store
	// Keys seals values and computes keyed hashes (the same cipher the store uses).
	Keys store.Cipher
	// Geo is the geolocation database; nil means geolocation is off.
	Geo *geo.DB
	// TrustedProxies are the peers whose forwarded headers are believed.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxBatchEvents bounds the events of one batch (default 1000).
	MaxBatchEvents int
	Logger         *slog.Logger
	// Now returns the current time (tests may fix it).
	Now func() time.Time
}

// state is the configuration the hot path reads, swapped atomically when an
// admin changes it.
type state struct {
	settings Settings
	apps     map[int64]webapps.Application
	appList  []webapps.Application
	matcher  *webapps.Matcher
	org      *org.Organization
	sites    geo.Sites
	locator  *geo.Locator
	// anonymization is the storage-level anonymization policy (data management).
	anonymization store.Anonymization
}

// Server serves the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
	store   *store.Store
	keys    store.Cipher
	geo     *geo.DB
	clients *geo.ClientIPResolver
	state   atomic.Pointer[state]
	stateMu sync.Mutex // serializes admin writes that rebuild state
	auth    authCache
	metrics *metrics
	now     func() time.Time
}

// New builds a server and loads its configuration from the store.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Keys == nil {
		return nil, errors.New("server: store and keys are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		store:   cfg.Store,
		keys:    cfg.Keys,
		geo:     cfg.Geo,
		clients: geo.NewClientIPResolver(cfg.TrustedProxies),
		now:     cfg.Now,
	}
	s.metrics = newMetrics(cfg.Store)
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	s.echo = s.routes()
	return s, nil
}

// Metrics returns the commit observer to give the store (for /metrics).
func (s *Server) Metrics() store.CommitObserver { return s.metrics }

// reload rebuilds the hot-path state from the store.
func (s *Server) reload(ctx context.Context) error {
	st := &state{settings: DefaultSettings()}
	if _, err := s.store.GetConfig(ctx, store.ConfigSettings, &st.settings); err != nil {
		return err
	}
	apps, err := s.store.ListApplications(ctx)
	if err != nil {
		return err
	}
	st.appList = apps
	st.apps = make(map[int64]webapps.Application, len(apps))
	for _, a := range apps {
		st.apps[a.ID] = a
	}
	if st.matcher, err = webapps.NewMatcher(apps); err != nil {
		return fmt.Errorf("server: compile applications: %w", err)
	}
	var rs org.Ruleset
	if _, err := s.store.GetConfig(ctx, store.ConfigOrganization, &rs); err != nil {
		return err
	}
	if st.org, err = org.Compile(rs); err != nil {
		return fmt.Errorf("server: compile organization: %w", err)
	}
	if _, err := s.store.GetConfig(ctx, store.ConfigLocations, &st.sites); err != nil {
		return err
	}
	if st.locator, err = geo.Compile(st.sites); err != nil {
		return fmt.Errorf("server: compile locations: %w", err)
	}
	if _, err := s.store.GetConfig(ctx, store.ConfigAnonymization, &st.anonymization); err != nil {
		return err
	}
	s.state.Store(st)
	return nil
}

func (s *Server) current() *state { return s.state.Load() }

// change runs an admin write that alters the hot-path state, one at a time,
// and reloads the state once the write succeeded.
func (s *Server) change(ctx context.Context, write func(st *state) error) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if err := write(s.current()); err != nil {
		return err
	}
	return s.reload(ctx)
}

// Handler returns the HTTP handler (for tests and custom listeners).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve accepts connections on l until ctx is done, then stops accepting,
// lets in-flight requests finish (their batches are committed) and returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
