package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseApps reads a comma-separated list of application patterns, each
// optionally prefixed by the server's application id and "=", as in
// "12=crm.example.com/*,*.wiki.example.com/docs/*". Each entry becomes one App.
func ParseApps(s string) ([]App, error) {
	var apps []App
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		a := App{Name: entry, Patterns: []string{entry}}
		if id, pattern, ok := strings.Cut(entry, "="); ok {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("loadgen: application id %q is not a positive integer", id)
			}
			a = App{ID: n, Name: pattern, Patterns: []string{pattern}}
		}
		if a.Patterns[0] == "" || strings.Contains(a.Patterns[0], "://") {
			return nil, fmt.Errorf("loadgen: pattern %q must be host/path without scheme", a.Patterns[0])
		}
		apps = append(apps, a)
	}
	if len(apps) == 0 {
		return nil, fmt.Errorf("loadgen: no application pattern in %q", s)
	}
	return apps, nil
}
