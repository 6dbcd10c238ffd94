package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"webusage/loadgen"
)

const (
	crashAdminToken  = "crash-admin-token-0123456789abcdef"
	crashEnrollToken = "crash-enroll-token-0123456789abcdef"
)

// TestCrashLosesNoAcknowledgedEvent drives the real server binary with load,
// kills it with SIGKILL mid-run, restarts it on the same data and checks
// that every event acknowledged before, during and after the crash is
// stored exactly once; then replays every batch the run generated and
// checks that nothing is stored twice.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the server binary; skipped with -short")
	}
	bin := buildServer(t)
	if help, _ := exec.Command(bin, "help").CombinedOutput(); !bytes.Contains(help, []byte(" serve ")) {
		t.Skipf("this build has no serve command yet:\n%s", help)
	}
	dataDir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr

	srv := startServer(t, bin, addr, dataDir)
	app := adminJSON(t, base, http.MethodPost, "/api/v1/applications",
		`{"name":"CRM","patterns":["crm.example.com/*","*.crm.example.com/*"],"collect_urls":false}`, http.StatusCreated)
	if _, ok := app["id"]; !ok {
		t.Fatalf("POST /api/v1/applications answered %v, want an id", app)
	}
	ctx := context.Background()
	apps, err := loadgen.FetchApps(ctx, http.DefaultClient, base, crashEnrollToken)
	if err != nil {
		t.Fatal(err)
	}

	acks := &syncBuffer{}
	cfg := loadgen.Config{URL: base, Token: crashEnrollToken, Devices: 25, BatchSize: 100, Concurrency: 4,
		Seed: 2026, Epoch: time.Now(), Apps: apps, AckLog: acks,
		ForwardedFor: true, Duration: 6 * time.Second, Rate: 10000, MaxRetryAfter: time.Second}
	type outcome struct {
		res *loadgen.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := loadgen.Run(ctx, cfg)
		done <- outcome{res, err}
	}()

	// Kill once a good part of the load is acknowledged, with batches in flight.
	waitFor(t, 10*time.Second, "3000 acknowledged events before the kill", func() bool { return len(acks.ids(t)) >= 3000 })
	srv.kill9(t)
	ackedAtKill := len(acks.ids(t))
	srv = startServer(t, bin, addr, dataDir)
	out := <-done
	if out.err != nil {
		t.Fatal(out.err)
	}
	res := out.res
	acked := acks.ids(t)
	t.Logf("run: %d batches, %d events acknowledged (%d at the kill), status %v", res.Batches, len(acked), ackedAtKill, res.Status)
	if len(acked) <= ackedAtKill {
		t.Fatalf("no event acknowledged after the restart (%d at the kill, %d at the end): the test did not load the restarted server", ackedAtKill, len(acked))
	}

	stored := storedIDs(t, base, cfg.Epoch)
	for id, n := range acked {
		if n != 1 {
			t.Errorf("id %s acknowledged %d times", id, n)
		}
		if stored[id] != 1 {
			t.Errorf("acknowledged id %s stored %d times after the crash, want exactly once", id, stored[id])
		}
	}
	generated := map[string]bool{}
	for _, id := range planIDs(t, cfg, res.Plan) {
		generated[id] = true
	}
	for id, n := range stored {
		if !generated[id] || n != 1 {
			t.Errorf("stored id %s (%d times) is not a generated id stored once", id, n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Replay the whole load: every generated batch, acknowledged or not.
	replay := cfg
	replay.Duration, replay.Plan, replay.AckLog = 0, res.Plan, nil
	again, err := loadgen.Run(ctx, replay)
	if err != nil {
		t.Fatal(err)
	}
	if again.Failed != 0 || again.Rejected != 0 || again.EventsAcked != int64(len(generated)) || sumDropped(again) != 0 {
		t.Fatalf("replay: %d batches given up, %d rejected, %d dropped, %d of %d acknowledged (status %v)",
			again.Failed, again.Rejected, sumDropped(again), again.EventsAcked, len(generated), again.Status)
	}
	if again.Accepted+again.Duplicates != int64(len(generated)) || again.Duplicates < int64(len(acked)) {
		t.Errorf("replay: %d accepted + %d duplicates, want %d in all and at least the %d acknowledged as duplicates",
			again.Accepted, again.Duplicates, len(generated), len(acked))
	}
	stored = storedIDs(t, base, cfg.Epoch)
	rows := 0
	for id, n := range stored {
		rows += n
		if !generated[id] || n != 1 {
			t.Errorf("after replay, id %s stored %d times (generated: %v)", id, n, generated[id])
		}
	}
	if rows != len(generated) || len(stored) != len(generated) {
		t.Errorf("after replay %d rows, %d distinct ids, want %d (every generated id once)", rows, len(stored), len(generated))
	}
	srv.terminate(t)
}

func sumDropped(r *loadgen.Result) int64 {
	var n int64
	for _, v := range r.Dropped {
		n += v
	}
	return n
}

// buildServer builds the webusage binary into a temporary directory.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webusage")
	cmd := exec.Command("go", "build", "-o", bin, "webusage/cmd/webusage")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build server: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serverProc is a running server binary whose output goes to a log file
// that is shown when the test fails.
type serverProc struct {
	cmd  *exec.Cmd
	done chan error
}

func startServer(t *testing.T, bin, addr, dataDir string) *serverProc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", dataDir, "--trusted-proxies", "127.0.0.1/32")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEBUSAGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "WEBUSAGE_ADMIN_TOKEN="+crashAdminToken, "WEBUSAGE_ENROLLMENT_TOKEN="+crashEnrollToken)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	p := &serverProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			data, _ := os.ReadFile(logf.Name())
			t.Logf("server log %s:\n%s", logf.Name(), data)
		}
		logf.Close()
	})
	waitFor(t, 30*time.Second, "the server's /healthz", func() bool {
		select {
		case err := <-p.done:
			p.done <- err
			data, _ := os.ReadFile(logf.Name())
			t.Fatalf("server exited before it was ready: %v\n%s", err, data)
		default:
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// kill9 kills the server with SIGKILL and waits until it is gone.
func (p *serverProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 server: %v", err)
	}
	err := <-p.done
	p.done <- err
}

// terminate sends SIGTERM and checks the server drains and exits 0.
func (p *serverProc) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM server: %v", err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("server exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("server still running 20 s after SIGTERM")
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %v for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// adminJSON sends an admin request and decodes its JSON object answer,
// failing the test unless the status is want.
func adminJSON(t *testing.T, base, method, path, body string, want int) map[string]any {
	t.Helper()
	var out map[string]any
	adminDo(t, base, method, path, body, want, &out)
	return out
}

// adminDo sends an admin request and decodes its JSON answer into out,
// failing the test unless the status is want.
func adminDo(t *testing.T, base, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+crashAdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: answer is not the expected JSON: %v: %.500s", method, path, err, data)
	}
}

// storedIDs pages through /api/v1/usage/events over the two days before
// epoch and counts the rows of each event id.
func storedIDs(t *testing.T, base string, epoch time.Time) map[string]int {
	t.Helper()
	ids := map[string]int{}
	q := url.Values{
		"from":  {epoch.Add(-48 * time.Hour).UTC().Format(time.RFC3339)},
		"to":    {epoch.Add(time.Hour).UTC().Format(time.RFC3339)},
		"limit": {"1000"},
	}
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("/api/v1/usage/events did not stop paging")
		}
		var resp struct {
			Rows []struct {
				ID string `json:"id"`
			} `json:"rows"`
			NextCursor string `json:"next_cursor"`
		}
		adminDo(t, base, http.MethodGet, "/api/v1/usage/events?"+q.Encode(), "", http.StatusOK, &resp)
		for _, r := range resp.Rows {
			if r.ID == "" {
				t.Fatalf("usage/events page %d has a row without id", page)
			}
			ids[r.ID]++
		}
		if resp.NextCursor == "" {
			return ids
		}
		if len(resp.Rows) == 0 {
			t.Fatalf("usage/events page %d is empty but has a next cursor", page)
		}
		q.Set("cursor", resp.NextCursor)
	}
}
