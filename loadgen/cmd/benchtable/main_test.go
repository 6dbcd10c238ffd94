package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webusage/loadgen"
)

const benchOutput = `goos: linux
goarch: amd64
pkg: webusage/sanitize
cpu: Some CPU @ 2.0GHz
BenchmarkURL-2        	  500000	      2410 ns/op	    414938 urls/s	     512 B/op	       9 allocs/op
BenchmarkNormalizeOnly-2	 1000000	      1100 ns/op
PASS
ok  	webusage/sanitize	3.1s
pkg: webusage/store
BenchmarkInsertBatch-2	     100	  10000000 ns/op	   81000 events/s
--- FAIL: BenchmarkBroken
FAIL
`

func TestRunBuildsOneTableOfAllFigures(t *testing.T) {
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench.txt")
	load := filepath.Join(dir, "max.json")
	res := loadgen.Result{Devices: 200, BatchSize: 100, Concurrency: 16, Seconds: 20, EventsPerSecond: 52000,
		Requests: 10400, Status: map[string]int{"200": 10399, "503": 1}, EventsAcked: 1040000,
		Latency: loadgen.Latency{P50: 12, P95: 40, P99: 80, Max: 120}}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bench, []byte(benchOutput), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(load, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, []string{bench}, []string{"max rate=" + load}, []string{"server|peak RSS|85 MiB"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"| area | what | figures |",
		"|---|---|---|",
		"| sanitize | BenchmarkURL-2 | 2410 ns/op · 414938 urls/s · 512 B/op · 9 allocs/op |",
		"| sanitize | BenchmarkNormalizeOnly-2 | 1100 ns/op |",
		"| store | BenchmarkInsertBatch-2 | 10000000 ns/op · 81000 events/s |",
	}
	if len(lines) != len(want)+2 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want)+2, out.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	for _, w := range []string{"loadgen max rate: 200 devices", "52000 events/s acked", "p99 80.0 ms", "1 not 200"} {
		if !strings.Contains(lines[5], w) {
			t.Errorf("loadgen row %q lacks %q", lines[5], w)
		}
	}
	if lines[6] != "| server | peak RSS | 85 MiB |" {
		t.Errorf("extra row = %q", lines[6])
	}
}

func TestRunRejectsMalformedArguments(t *testing.T) {
	var out bytes.Buffer
	for name, args := range map[string][3][]string{
		"missing bench file": {{"/nonexistent"}, nil, nil},
		"loadgen not LABEL=": {nil, {"file.json"}, nil},
		"row without parts":  {nil, nil, {"just one"}},
	} {
		if err := run(&out, args[0], args[1], args[2]); err == nil {
			t.Errorf("%s: run succeeded", name)
		}
	}
}
