package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"webusage/keys"
	"webusage/store"
	"webusage/webapps"
)

// benchBatches builds n request bodies of size events each, from distinct
// devices, for applications created by the caller.
func benchBatches(n, size int) [][]byte {
	out := make([][]byte, n)
	now := time.Now().Add(-time.Hour)
	for i := range out {
		var es []ev
		for j := range size {
			es = append(es, usage(fmt.Sprintf("https://app%d.example.com/accounts/%d/view", j%5, j), now, 1000))
		}
		out[i] = mustJSON(batch(fmt.Sprintf("dev-%d", i%500), fmt.Sprintf("user-%d", i%800), es...))
	}
	return out
}

// BenchmarkIngestHTTP measures events/s through the whole pipeline over HTTP
// on loopback: batches of 100, 32 concurrent clients, ack after commit.
func BenchmarkIngestHTTP(b *testing.B) {
	ts := &testServer{t: b, dir: b.TempDir(), admin: "wua_bench_admin_token_01", enroll: "wue_bench_enroll_token_01"}
	ts.start()
	defer ts.stop()
	for i := range 5 {
		ts.createApp(fmt.Sprintf("App %d", i), []string{fmt.Sprintf("app%d.example.com/*", i)}, false)
	}
	const size, clients = 100, 32
	bodies := benchBatches(2000, size)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([]time.Duration, 0, 1<<16)
	var latMu sync.Mutex
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				body := regenerateIDs(bodies[i%int64(len(bodies))])
				req, _ := http.NewRequest("POST", ts.url+"/api/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+ts.enroll)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					if resp != nil {
						resp.Body.Close()
					}
					continue
				}
				resp.Body.Close()
				d := time.Since(t0)
				latMu.Lock()
				lat = append(lat, d)
				latMu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d requests failed", failed.Load())
	}
	b.ReportMetric(float64(b.N*size)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

// regenerateIDs gives every event of a prepared body a fresh random id, so
// each request stores new rows. Ids are at fixed positions: "id":"<36>".
func regenerateIDs(body []byte) []byte {
	out := bytes.Clone(body)
	key := []byte(`"id":"`)
	for i := 0; ; {
		j := bytes.Index(out[i:], key)
		if j < 0 {
			return out
		}
		p := i + j + len(key)
		if p+36 <= len(out) && out[p+8] == '-' {
			var r [16]byte
			rand.Read(r[:])
			copy(out[p:], fmt.Sprintf("%x-%x-%x-%x-%x", r[0:4], r[4:6], r[6:8], r[8:10], r[10:16]))
		}
		i = p
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ { // insertion sort is fine for benchmark sizes
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[int(p*float64(len(s)-1))]
}

// BenchmarkBareInsert is the ceiling: the same rows written straight into the
// store in batches of 100, bypassing HTTP, decoding and the pipeline.
func BenchmarkBareInsert(b *testing.B) {
	dir := b.TempDir()
	kr, err := keys.Open(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "webusage.db"), kr, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	app, err := st.CreateApplication(ctx, store.Actor{Name: "bench"}, webappsApp("App"))
	if err != nil {
		b.Fatal(err)
	}
	const size, clients = 100, 32
	var next atomic.Int64
	now := time.Now().UnixMilli()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				bt := &store.IngestBatch{Device: store.DeviceInfo{ExternalID: fmt.Sprintf("dev-%d", i%500), Name: "DEV", Entity: "n/a"},
					User: &store.UserInfo{Name: fmt.Sprintf("user-%d", i%800)}, Browser: "chrome"}
				for range size {
					var id [16]byte
					rand.Read(id[:])
					bt.Events = append(bt.Events, store.IngestEvent{ID: id, AppID: app.ID, StartMs: now, DurationMs: 1000, Entity: "n/a"})
				}
				if _, err := st.Ingest(ctx, bt); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
}

func webappsApp(name string) webapps.Application {
	return webapps.Application{Name: name, Patterns: []string{"app.example.com/*"}}
}
