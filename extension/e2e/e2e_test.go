package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tolerance is how far a stored duration may be from the time the test
// spent on a page: navigation and event latency in the browser.
const tolerance = 1500 * time.Millisecond

// sites serves every *.test host the browser visits.
func sites() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s%s</h1>", html.EscapeString(r.Host), html.EscapeString(r.Host), html.EscapeString(r.URL.Path))
	}))
}

// visit shows url in the tab for d and returns how long it really was shown.
func visit(t *testing.T, ctx context.Context, url string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
	time.Sleep(d - time.Since(start))
	return time.Since(start)
}

// totals sums stored durations by application.
func totals(events []usageEvent) map[string]time.Duration {
	m := map[string]time.Duration{}
	for _, e := range events {
		m[e.Application] += time.Duration(e.DurationMS) * time.Millisecond
	}
	return m
}

// waitFor polls the server's events until ok accepts them or the time is up.
func waitFor(t *testing.T, ctx context.Context, s *server, what string, ok func(map[string]time.Duration) bool) []usageEvent {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		events := s.events(ctx)
		if ok(totals(events)) {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stored usage is %v", what, totals(events))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func near(got, want time.Duration) bool {
	return got >= want-tolerance && got <= want+tolerance
}

func TestExtensionReportsUsageToServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	srv := startServer(t)
	srv.call(ctx, http.MethodPost, "/api/v1/applications", map[string]any{"name": "CRM", "patterns": []string{"*.crm.test/*"}, "collect_urls": false}, nil)
	srv.call(ctx, http.MethodPost, "/api/v1/applications", map[string]any{"name": "Docs", "patterns": []string{"docs.test/*"}, "collect_urls": true}, nil)
	// A long idle threshold: this test is about focus, navigation and
	// delivery; idle accounting is covered by the unit tests.
	srv.call(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"collect_urls": true, "extension_flush_seconds": 5, "extension_idle_seconds": 600}, nil)

	web := sites()
	defer web.Close()
	extDir, extID := buildExtension(t)
	browser := startBrowser(t, extDir, web.Listener.Addr().String())

	// Configure the extension as a user of an unmanaged install would.
	options := fmt.Sprintf("chrome-extension://%s/options.html", extID)
	if err := chromedp.Do(browser,
		chromedp.Navigate(options),
		chromedp.SetValue(chromedp.ID("serverUrl"), srv.url()),
		chromedp.SetValue(chromedp.ID("enrollmentToken"), enrollmentToken),
		chromedp.SetValue(chromedp.ID("deviceName"), "E2E-LAPTOP"),
		chromedp.SetValue(chromedp.ID("userName"), "jdoe"),
		chromedp.Click(chromedp.ID("save")),
	); err != nil {
		t.Fatalf("options page: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		n, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("applications")))
		if err == nil && n == "2" {
			break
		}
		if time.Now().After(deadline) {
			lastErr, _ := chromedp.Run(browser, chromedp.Text(chromedp.ID("lastError")))
			t.Fatalf("the extension did not fetch its config: applications %q (%v), last error %q", n, err, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	crm := visit(t, browser, "http://app.crm.test/accounts/42?session=s3cr3t#tab", 6*time.Second)
	visit(t, browser, "http://news.test/story/1", 3*time.Second)
	docs := visit(t, browser, "http://docs.test/spaces/eng?token=abc123#frag", 5*time.Second)
	visit(t, browser, "about:blank", 0)

	events := waitFor(t, ctx, srv, "usage of both applications", func(m map[string]time.Duration) bool {
		return m["CRM"] >= crm-tolerance && m["Docs"] >= docs-tolerance
	})
	got := totals(events)
	t.Logf("stored usage %v for CRM %v and Docs %v shown", got, crm, docs)
	if !near(got["CRM"], crm) || !near(got["Docs"], docs) {
		t.Errorf("stored usage %v, want CRM≈%v and Docs≈%v", got, crm, docs)
	}
	for _, e := range events {
		switch e.Application {
		case "CRM":
			if e.URL != "" {
				t.Errorf("CRM does not collect URLs, but an event has %q", e.URL)
			}
		case "Docs":
			t.Logf("Docs URL as stored: %q", e.URL)
			if !strings.Contains(e.URL, "docs.test") || strings.ContainsAny(e.URL, "?#") || strings.Contains(e.URL, "abc123") {
				t.Errorf("Docs event URL %q, want a sanitized http://docs.test/… URL", e.URL)
			}
		default:
			t.Errorf("usage stored for %q: only the configured applications may be reported", e.Application)
		}
		if strings.Contains(e.URL, "news.test") || strings.Contains(e.URL, "s3cr3t") {
			t.Errorf("stored URL %q leaks what it must not", e.URL)
		}
	}
	var byApp struct {
		Rows []struct {
			Application string `json:"application"`
			UsageMS     int64  `json:"usage_ms"`
		} `json:"rows"`
	}
	q := fmt.Sprintf("/api/v1/usage?group_by=application&from=%s&to=%s", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	srv.call(ctx, http.MethodGet, q, nil, &byApp)
	if len(byApp.Rows) != 2 {
		t.Errorf("usage by application: %+v, want exactly CRM and Docs", byApp.Rows)
	}

	// The server goes away; usage goes on; nothing is lost once it is back.
	srv.stop()
	offline := visit(t, browser, "http://app.crm.test/reports", 5*time.Second)
	visit(t, browser, "about:blank", 7*time.Second) // several failed sends
	srv.start()
	events = waitFor(t, ctx, srv, "usage recorded while the server was down", func(m map[string]time.Duration) bool {
		return m["CRM"] >= got["CRM"]+offline-tolerance
	})
	after := totals(events)
	t.Logf("after the outage: %v (CRM shown %v while the server was down)", after, offline)
	if d := after["CRM"] - got["CRM"]; !near(d, offline) {
		t.Errorf("CRM usage while the server was down: %v stored, want ≈%v", d, offline)
	}
	if after["Docs"] != got["Docs"] {
		t.Errorf("Docs usage changed from %v to %v without Docs being used", got["Docs"], after["Docs"])
	}
}
