package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webusage/geo"
	"webusage/keys"
	"webusage/server"
	"webusage/store"
)

func init() {
	register("serve", command{summary: "run the HTTP API server", run: runServe})
}

type serveFlags struct {
	addr           string
	data           string
	geoDB          string
	trustedProxies string
	kekFile        string
	maxBody        int64
	maxEvents      int
	queueEvents    int
	logLevel       string
	logFormat      string
	tlsCert        string
	tlsKey         string
	pprofAddr      string
}

func runServe(ctx context.Context, args []string, io stdio) int {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&f.data, "data", "./data", "data directory (SQLite database, keys, initial credentials)")
	fs.StringVar(&f.geoDB, "geo-db", "", "comma-separated mmdb files searched in order (default: DATA/geo/*.mmdb when present)")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For/Forwarded headers are believed")
	fs.StringVar(&f.kekFile, "kek-file", "", "customer-held key-encryption key (BYOK); default: generated into DATA/kek")
	fs.Int64Var(&f.maxBody, "max-body-bytes", 1<<20, "largest accepted request body")
	fs.IntVar(&f.maxEvents, "max-batch-events", 1000, "most events accepted in one batch")
	fs.IntVar(&f.queueEvents, "queue-events", 50000, "events that may wait for the database writer before 503")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS; needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.pprofAddr, "pprof-addr", "", "serve Go's /debug/pprof on this address (keep it on loopback)")
	if err := envFlags(fs); err != nil {
		fmt.Fprintln(io.err, "serve: environment:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := newLogger(io, f.logLevel, f.logFormat)
	if err := serve(ctx, f, log); err != nil {
		log.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(io stdio, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(io.err, opts))
	}
	return slog.New(slog.NewTextHandler(io.err, opts))
}

func serve(ctx context.Context, f serveFlags, log *slog.Logger) error {
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	trusted, err := geo.ParsePrefixes(f.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	keyring, err := keys.Open(f.data, f.kekFile)
	if err != nil {
		return err
	}
	geoDB, err := openGeo(f, log)
	if err != nil {
		return err
	}
	if geoDB != nil {
		defer geoDB.Close()
	}
	var srv *server.Server
	obs := &lateObserver{}
	st, err := store.Open(ctx, filepath.Join(f.data, "webusage.db"), keyring, store.Options{QueueEvents: f.queueEvents, Observer: obs})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	if err := bootstrap(ctx, st, f.data, log); err != nil {
		return err
	}
	srv, err = server.New(ctx, server.Config{Store: st, Keys: keyring, Geo: geoDB, TrustedProxies: trusted,
		MaxBodyBytes: f.maxBody, MaxBatchEvents: f.maxEvents, Logger: log})
	if err != nil {
		return err
	}
	obs.set(srv.Metrics())
	if f.pprofAddr != "" {
		if err := startPprof(ctx, f.pprofAddr, log); err != nil {
			return err
		}
	}
	srv.StartBackground(ctx) // retention and anonymization passes
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if f.tlsCert != "" || f.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			l.Close()
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	log.Info("webusage listening", "addr", l.Addr().String(), "scheme", scheme, "data", f.data)
	err = srv.Serve(ctx, l)
	log.Info("webusage stopping: committing accepted events")
	return err
}

// lateObserver forwards commit statistics to the server's metrics, which
// exist only after the store is open.
type lateObserver struct {
	o store.CommitObserver
}

func (l *lateObserver) set(o store.CommitObserver) { l.o = o }

// ObserveCommit implements store.CommitObserver.
func (l *lateObserver) ObserveCommit(events int, d time.Duration, err error) {
	if o := l.o; o != nil {
		o.ObserveCommit(events, d, err)
	}
}

func openGeo(f serveFlags, log *slog.Logger) (*geo.DB, error) {
	var paths []string
	if f.geoDB != "" {
		for _, p := range strings.Split(f.geoDB, ",") {
			if p = strings.TrimSpace(p); p != "" {
				paths = append(paths, p)
			}
		}
	} else {
		found, _ := filepath.Glob(filepath.Join(f.data, "geo", "*.mmdb"))
		sort.Strings(found)
		paths = found
	}
	if len(paths) == 0 {
		log.Warn("geolocation is off: no database (run `make geodb` or pass --geo-db)")
		return nil, nil
	}
	db, err := geo.Open(paths...)
	if err != nil {
		return nil, err
	}
	for _, s := range db.Sources() {
		log.Info("geolocation database", "file", s.File, "type", s.Type)
	}
	return db, nil
}

// bootstrap creates the first admin account and an enrollment token on an
// empty database: from WEBUSAGE_ADMIN_TOKEN / WEBUSAGE_ENROLLMENT_TOKEN when
// set, otherwise random ones written to DATA/initial-credentials (0600). The
// token values are never logged.
func bootstrap(ctx context.Context, st *store.Store, dir string, log *slog.Logger) error {
	admin, fromEnvA := os.LookupEnv("WEBUSAGE_ADMIN_TOKEN")
	enroll, fromEnvE := os.LookupEnv("WEBUSAGE_ENROLLMENT_TOKEN")
	if !fromEnvA || admin == "" {
		admin, fromEnvA = server.NewToken(server.AccountTokenPrefix), false
	}
	if !fromEnvE || enroll == "" {
		enroll, fromEnvE = server.NewToken(server.EnrollmentTokenPrefix), false
	}
	if len(admin) < 16 || len(enroll) < 16 {
		return errors.New("WEBUSAGE_ADMIN_TOKEN and WEBUSAGE_ENROLLMENT_TOKEN must be at least 16 characters")
	}
	ah, eh := server.HashToken(admin), server.HashToken(enroll)
	created, err := st.Bootstrap(ctx, ah[:], eh[:])
	if err != nil {
		return err
	}
	if !created {
		return nil
	}
	if fromEnvA && fromEnvE {
		log.Info("first start: admin account and enrollment token created from the environment")
		return nil
	}
	path := filepath.Join(dir, "initial-credentials")
	body := fmt.Sprintf("# webusage initial credentials (created %s). Keep them safe, then delete this file.\n"+
		"WEBUSAGE_ADMIN_TOKEN=%s\nWEBUSAGE_ENROLLMENT_TOKEN=%s\n", time.Now().UTC().Format(time.RFC3339), admin, enroll)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write initial credentials: %w", err)
	}
	log.Info("first start: admin account and enrollment token created", "credentials_file", path)
	return nil
}

// startPprof serves the profiling endpoints on their own listener until ctx
// ends.
func startPprof(ctx context.Context, addr string, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("pprof listening", "addr", l.Addr().String())
	return nil
}
