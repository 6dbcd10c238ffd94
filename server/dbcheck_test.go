package server

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// assertNotInDatabase fails if any needle appears in the raw bytes of the
// SQLite files (database and WAL), in any letter case.
func assertNotInDatabase(t *testing.T, ts *testServer, needles ...string) {
	t.Helper()
	var all []byte
	for _, f := range []string{"webusage.db", "webusage.db-wal"} {
		b, err := os.ReadFile(filepath.Join(ts.dir, f))
		if err == nil {
			all = append(all, b...)
		}
	}
	if len(all) == 0 {
		t.Fatal("no database bytes read")
	}
	low := bytes.ToLower(all)
	for _, n := range needles {
		if bytes.Contains(low, []byte(strings.ToLower(n))) {
			t.Errorf("%q found in the raw database file", n)
		}
	}
}

// postRaw posts a batch and returns the status, or an error when the server
// is unreachable.
func postRaw(ts *testServer, b map[string]any) (int, error) {
	req, err := http.NewRequest("POST", ts.url+"/api/v1/events", bytes.NewReader(mustJSON(b)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+ts.enroll)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
