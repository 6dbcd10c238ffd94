package sanitize

import (
	"encoding/json"
	"os"
	"testing"
)

// TestWHATWG runs every input of the WHATWG URL test data through URL: no
// panic, and every output re-parses, holds the properties and is idempotent.
func TestWHATWG(t *testing.T) {
	data, err := os.ReadFile("testdata/urltestdata.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	inputs, ok := 0, 0
	for _, e := range entries {
		var c struct {
			Input *string `json:"input"`
			Base  *string `json:"base"`
		}
		if json.Unmarshal(e, &c) != nil || c.Input == nil {
			continue // comment strings
		}
		for _, in := range []string{*c.Input, deref(c.Base)} {
			if in == "" {
				continue
			}
			inputs++
			if _, err := checkProperties(t, in, Options{}); err == nil {
				ok++
			}
		}
	}
	if inputs < 900 {
		t.Fatalf("read only %d inputs from the WHATWG data", inputs)
	}
	t.Logf("%d WHATWG inputs, %d sanitized, %d rejected", inputs, ok, inputs-ok)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
