package loadgen_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"webusage/loadgen"
	"webusage/loadgen/loadgentest"
)

const token = "enroll-secret"

// syncBuffer is an AckLog that the test can read after the run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// ids returns the logged ids with how many times each was logged.
func (s *syncBuffer) ids(t *testing.T) map[string]int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		out[sc.Text()]++
	}
	return out
}

func run(t *testing.T, cfg loadgen.Config) *loadgen.Result {
	t.Helper()
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// planIDs lists every event id a plan covers.
func planIDs(t *testing.T, cfg loadgen.Config, plan []int) []string {
	t.Helper()
	f, err := loadgen.NewFleet(cfg.Seed, len(plan), cfg.BatchSize, cfg.Apps, cfg.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for d, n := range plan {
		for seq := range n {
			ids = append(ids, f.Batch(d, seq).IDs...)
		}
	}
	return ids
}

func TestRunBatchesAndAcknowledgesEveryEvent(t *testing.T) {
	srv := loadgentest.NewServer(token, testApps)
	defer srv.Close()
	acks := &syncBuffer{}
	cfg := loadgen.Config{URL: srv.URL, Token: token, Devices: 7, BatchSize: 25, Concurrency: 3,
		Seed: 4, Epoch: epoch, Plan: []int{3, 1, 0, 2, 5, 1, 1}, AckLog: acks}
	res := run(t, cfg)

	cfg.Apps = testApps
	want := planIDs(t, cfg, cfg.Plan)
	if len(want) != 13*25 {
		t.Fatalf("plan covers %d ids, want %d", len(want), 13*25)
	}
	stored, logged := srv.Stored(), acks.ids(t)
	for _, id := range want {
		if stored[id] != 1 || logged[id] != 1 {
			t.Fatalf("id %s stored %d times, logged %d times; want 1 and 1", id, stored[id], logged[id])
		}
	}
	if len(stored) != len(want) || len(logged) != len(want) {
		t.Errorf("%d stored, %d logged, want %d", len(stored), len(logged), len(want))
	}
	if res.Requests != 13 || res.Batches != 13 || res.Status["200"] != 13 || res.Retries != 0 || res.Failed != 0 {
		t.Errorf("requests %d batches %d status %v retries %d failed %d; want 13 clean batches",
			res.Requests, res.Batches, res.Status, res.Retries, res.Failed)
	}
	if res.EventsSent != 325 || res.EventsAcked != 325 || res.Accepted != 325 || res.Duplicates != 0 {
		t.Errorf("sent %d acked %d accepted %d duplicates %d; want 325 accepted", res.EventsSent, res.EventsAcked, res.Accepted, res.Duplicates)
	}
	if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Errorf("latency %+v is not ordered p50 ≤ p99 ≤ max", res.Latency)
	}
	for d, n := range res.Plan {
		if n != cfg.Plan[d] {
			t.Errorf("result plan %v, want %v", res.Plan, cfg.Plan)
			break
		}
	}
}

func TestRunForDurationThenReplayStoresNothingTwice(t *testing.T) {
	srv := loadgentest.NewServer(token, testApps)
	defer srv.Close()
	cfg := loadgen.Config{URL: srv.URL, Token: token, Devices: 5, BatchSize: 10, Concurrency: 2,
		Seed: 11, Epoch: epoch, Duration: 200 * time.Millisecond, Rate: 2000}
	first := run(t, cfg)
	planned := 0
	for _, n := range first.Plan {
		planned += n
	}
	if first.Batches == 0 || planned != first.Batches || first.EventsAcked != int64(10*planned) {
		t.Fatalf("first run: %d batches, plan of %d, %d acked", first.Batches, planned, first.EventsAcked)
	}

	cfg.Duration, cfg.Plan = 0, first.Plan
	again := run(t, cfg)
	if again.Accepted != 0 || again.Duplicates != first.EventsAcked || again.EventsAcked != first.EventsAcked {
		t.Errorf("replay accepted %d, duplicates %d, acked %d; want 0, %d, %d",
			again.Accepted, again.Duplicates, again.EventsAcked, first.EventsAcked, first.EventsAcked)
	}
	if stored := srv.Stored(); int64(len(stored)) != first.EventsAcked {
		t.Errorf("%d ids stored after replay, want %d", len(stored), first.EventsAcked)
	}
}

func TestRunRetriesAfterRetryAfter(t *testing.T) {
	srv := loadgentest.NewServer(token, testApps)
	defer srv.Close()
	srv.Fault = func(n int) loadgentest.Fault {
		if n == 0 {
			return loadgentest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "1"}
		}
		return loadgentest.Fault{}
	}
	acks := &syncBuffer{}
	res := run(t, loadgen.Config{URL: srv.URL, Token: token, Devices: 1, BatchSize: 5, Concurrency: 1,
		Apps: testApps, Epoch: epoch, Plan: []int{2}, AckLog: acks})

	arr := srv.Arrivals()
	if len(arr) != 3 {
		t.Fatalf("%d requests, want 3 (503, its retry, the second batch)", len(arr))
	}
	if gap := arr[1].Sub(arr[0]); gap < time.Second {
		t.Errorf("retry came %v after the 503, want at least the Retry-After of 1 s", gap)
	}
	if res.Status["503"] != 1 || res.Status["200"] != 2 || res.Retries != 1 || res.EventsAcked != 10 || res.Failed != 0 {
		t.Errorf("status %v retries %d acked %d failed %d; want one retried 503 and 10 acked", res.Status, res.Retries, res.EventsAcked, res.Failed)
	}
	if len(acks.ids(t)) != 10 {
		t.Errorf("%d ids logged, want 10", len(acks.ids(t)))
	}
}

func TestAckLogHoldsOnlyEventsAnswered200(t *testing.T) {
	srv := loadgentest.NewServer(token, testApps)
	defer srv.Close()
	srv.Fault = func(n int) loadgentest.Fault {
		switch n {
		case 0: // committed, but the acknowledgement is lost: retried, answered as duplicates
			return loadgentest.Fault{Status: http.StatusInternalServerError, AfterCommit: true}
		case 2: // refused for good: never acknowledged
			return loadgentest.Fault{Status: http.StatusBadRequest}
		}
		return loadgentest.Fault{}
	}
	srv.Reject = func(i int) bool { return i == 3 }
	acks := &syncBuffer{}
	cfg := loadgen.Config{URL: srv.URL, Token: token, Devices: 1, BatchSize: 4, Concurrency: 1,
		Apps: testApps, Epoch: epoch, Plan: []int{3}, AckLog: acks}
	res := run(t, cfg)

	f, err := loadgen.NewFleet(0, 1, 4, testApps, epoch)
	if err != nil {
		t.Fatal(err)
	}
	b0, b1, b2 := f.Batch(0, 0).IDs, f.Batch(0, 1).IDs, f.Batch(0, 2).IDs
	want := map[string]int{b0[0]: 1, b0[1]: 1, b0[2]: 1, b2[0]: 1, b2[1]: 1, b2[2]: 1}
	got := acks.ids(t)
	if len(got) != len(want) {
		t.Errorf("logged %d ids, want %d", len(got), len(want))
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("id %s logged %d times, want once", id, got[id])
		}
	}
	for _, id := range append(b1, b0[3], b2[3]) {
		if got[id] != 0 {
			t.Errorf("id %s logged though never acknowledged", id)
		}
	}
	if res.Status["500"] != 1 || res.Status["400"] != 1 || res.Failed != 1 || res.Retries != 1 ||
		res.Duplicates != 3 || res.Accepted != 3 || res.Rejected != 2 || res.EventsAcked != 6 {
		t.Errorf("result %+v does not match one lost ack, one refused batch, two rejected events", res)
	}
}

func TestRunSendsDevicePublicIPsAsForwardedFor(t *testing.T) {
	srv := loadgentest.NewServer(token, testApps)
	defer srv.Close()
	cfg := loadgen.Config{URL: srv.URL, Token: token, Devices: 6, BatchSize: 1, Seed: 2,
		Apps: testApps, Epoch: epoch, Plan: []int{1, 1, 1, 1, 1, 1}, ForwardedFor: true}
	run(t, cfg)
	f, err := loadgen.NewFleet(2, 6, 1, testApps, epoch)
	if err != nil {
		t.Fatal(err)
	}
	got := srv.ForwardedFor()
	for i := range 6 {
		if ip := f.Device(i).PublicIP.String(); !got[ip] {
			t.Errorf("device %d public IP %s never sent as X-Forwarded-For (got %v)", i, ip, got)
		}
	}

	plain := loadgentest.NewServer(token, testApps)
	defer plain.Close()
	cfg.URL, cfg.ForwardedFor = plain.URL, false
	run(t, cfg)
	if n := len(plain.ForwardedFor()); n != 0 {
		t.Errorf("X-Forwarded-For sent %d times without ForwardedFor", n)
	}
}

func TestRunFetchesApplicationsFromTheServer(t *testing.T) {
	served := []loadgen.App{{ID: 42, Name: "Only", Patterns: []string{"only.example.com/*"}}}
	srv := loadgentest.NewServer(token, served)
	defer srv.Close()
	res := run(t, loadgen.Config{URL: srv.URL + "/", Token: token, Devices: 1, BatchSize: 3, Plan: []int{1}})
	if res.Accepted != 3 {
		t.Fatalf("accepted %d, want 3", res.Accepted)
	}
	if _, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL, Token: "wrong", Devices: 1}); err == nil ||
		!strings.Contains(err.Error(), "401") {
		t.Errorf("Run with a wrong token: err = %v, want a 401 from the config fetch", err)
	}
	empty := loadgentest.NewServer(token, nil)
	defer empty.Close()
	if _, err := loadgen.Run(context.Background(), loadgen.Config{URL: empty.URL, Token: token, Devices: 1}); err == nil {
		t.Error("Run against a server without applications succeeded")
	}
}

func TestRunCountsTransportErrorsWithoutAcknowledging(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	acks := &syncBuffer{}
	res := run(t, loadgen.Config{URL: url, Token: token, Devices: 2, Apps: testApps, Concurrency: 2,
		Duration: 300 * time.Millisecond, AckLog: acks})
	if res.Status["transport"] == 0 || res.EventsAcked != 0 || len(acks.ids(t)) != 0 || res.Failed != res.Batches {
		t.Errorf("status %v acked %d failed %d of %d batches; want only transport errors and nothing acknowledged",
			res.Status, res.EventsAcked, res.Failed, res.Batches)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]loadgen.Config{
		"no url":        {Token: token, Devices: 1},
		"no token":      {URL: "http://127.0.0.1:1", Devices: 1},
		"no device":     {URL: "http://127.0.0.1:1", Token: token},
		"negative rate": {URL: "http://127.0.0.1:1", Token: token, Devices: 1, Rate: -1},
	} {
		if _, err := loadgen.Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}

func TestWriteTableShowsTheFigures(t *testing.T) {
	res := &loadgen.Result{Devices: 3, BatchSize: 100, Concurrency: 2, Seconds: 2, EventsPerSecond: 1234,
		Requests: 5, Status: map[string]int{"transport": 1, "503": 1, "200": 3}, Dropped: map[string]int64{"no_application": 7},
		Latency: loadgen.Latency{P50: 1.5, P95: 2.5, P99: 3.5, Max: 9}}
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"1234 events/s", "status 200", "dropped no_application", "latency p99", "3.5 ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "status 200") > strings.Index(out, "status 503") || strings.Index(out, "status 503") > strings.Index(out, "status transport") {
		t.Errorf("statuses not in order 200, 503, transport:\n%s", out)
	}
}
