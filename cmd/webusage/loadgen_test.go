package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webusage/loadgen"
	"webusage/loadgen/loadgentest"
)

var loadgenApps = []loadgen.App{{ID: 5, Name: "CRM", Patterns: []string{"crm.example.com/*"}}}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestLoadgenReportsJSONAndLogsAcknowledgedIDs(t *testing.T) {
	srv := loadgentest.NewServer("tok", loadgenApps)
	defer srv.Close()
	ackLog := filepath.Join(t.TempDir(), "acks")
	t.Setenv("WEBUSAGE_TOKEN", "tok")
	code, out, errOut := runCmd(t, "loadgen", "--url", srv.URL, "--devices", "3", "--batch", "20",
		"--duration", "200ms", "--rate", "2000", "--concurrency", "2", "--ack-log", ackLog, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var res loadgen.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not a JSON result: %v\n%s", err, out)
	}
	data, err := os.ReadFile(ackLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	stored := srv.Stored()
	if res.EventsAcked == 0 || int64(len(lines)) != res.EventsAcked || len(stored) != len(lines) {
		t.Fatalf("acked %d, %d ids logged, %d stored; want equal and non-zero", res.EventsAcked, len(lines), len(stored))
	}
	for _, id := range lines {
		if stored[id] != 1 {
			t.Fatalf("logged id %s was not stored", id)
		}
	}
	if res.Devices != 3 || res.BatchSize != 20 || res.Latency.P99 <= 0 || res.Status["200"] != res.Requests {
		t.Errorf("result %+v does not reflect the flags and a clean run", res)
	}
}

func TestLoadgenPrintsATableForGivenApps(t *testing.T) {
	srv := loadgentest.NewServer("tok", nil) // serves no application: --apps must be used
	defer srv.Close()
	code, out, errOut := runCmd(t, "loadgen", "--url", srv.URL, "--token", "tok", "--devices", "2",
		"--duration", "100ms", "--rate", "1000", "--apps", "5=crm.example.com/*", "--forwarded-for")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"throughput", "events/s acknowledged", "latency p99", "status 200"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if len(srv.ForwardedFor()) == 0 {
		t.Error("--forwarded-for sent no X-Forwarded-For header")
	}
}

func TestLoadgenRejectsBadInvocations(t *testing.T) {
	srv := loadgentest.NewServer("tok", nil)
	defer srv.Close()
	for name, tc := range map[string]struct {
		args []string
		code int
	}{
		"unknown flag":   {[]string{"--nope"}, 2},
		"extra argument": {[]string{"--token", "tok", "x"}, 2},
		"bad apps":       {[]string{"--token", "tok", "--apps", "x=y/*"}, 2},
		"no token":       {[]string{"--url", srv.URL, "--duration", "10ms"}, 1},
		"no application": {[]string{"--url", srv.URL, "--token", "tok", "--duration", "10ms"}, 1},
	} {
		t.Setenv("WEBUSAGE_TOKEN", "")
		os.Unsetenv("WEBUSAGE_TOKEN")
		code, _, errOut := runCmd(t, append([]string{"loadgen"}, tc.args...)...)
		if code != tc.code || errOut == "" {
			t.Errorf("%s: exit %d (stderr %q), want %d with a message", name, code, errOut, tc.code)
		}
	}
}
