package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	adminToken      = "e2e-admin-token-0123456789abcdef"
	enrollmentToken = "e2e-enrollment-token-0123456789abcdef"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's output for the failure log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a real `webusage serve` process on loopback.
type server struct {
	t    *testing.T
	bin  string
	data string
	addr string
	cmd  *exec.Cmd
	log  *lockedBuffer
}

// startServer builds the server binary and starts it with fixed tokens.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "webusage")
	build := exec.Command("go", "build", "-o", bin, "./cmd/webusage")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build server: %v\n%s", err, out)
	}
	s := &server{t: t, bin: bin, data: filepath.Join(dir, "data"), addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), log: &lockedBuffer{}}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server output:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) url() string { return "http://" + s.addr }

// start runs the server and waits until /healthz answers 200.
func (s *server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "serve", "--addr", s.addr, "--data", s.data)
	cmd.Env = append(os.Environ(), "WEBUSAGE_ADMIN_TOKEN="+adminToken, "WEBUSAGE_ENROLLMENT_TOKEN="+enrollmentToken)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.url() + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server not healthy after 30s: %v\n%s", err, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// call sends a JSON request with the admin token and decodes the answer into out.
func (s *server) call(ctx context.Context, method, path string, body, out any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url()+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: %s: %s", method, path, res.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// usageEvent is one row of GET /api/v1/usage/events.
type usageEvent struct {
	Application string `json:"application"`
	URL         string `json:"url"`
	Start       string `json:"start"`
	DurationMS  int64  `json:"duration_ms"`
}

// events returns every stored usage event of the last hour.
func (s *server) events(ctx context.Context) []usageEvent {
	s.t.Helper()
	q := url.Values{
		"from": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
		"to":   {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
	}
	var all []usageEvent
	for {
		var page struct {
			Rows       []usageEvent `json:"rows"`
			NextCursor string       `json:"next_cursor"`
		}
		s.call(ctx, http.MethodGet, "/api/v1/usage/events?"+q.Encode(), nil, &page)
		all = append(all, page.Rows...)
		if page.NextCursor == "" || len(page.Rows) == 0 {
			return all
		}
		q.Set("cursor", page.NextCursor)
	}
}
