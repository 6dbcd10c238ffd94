package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runSanitizeCmd runs `webusage sanitize args...` in-process with stdin.
func runSanitizeCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), append([]string{"sanitize"}, args...), stdio{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestSanitizeCommand(t *testing.T) {
	const secret = "s3cr3tT0ken"
	stdin := "https://jdoe:pw@CRM.Example.com/accounts/42/invoices?page=2&token=" + secret + "\r\n" +
		"not a url " + secret + "\n" +
		"\n" +
		"https://app.example.com/#/users/jane.doe/profile\n" +
		"mailto:jane@acme.com\n" +
		"https://example.com/" + strings.Repeat("x", 70<<10) + "\n" +
		"https://crm.example.com/reports?report=pipeline&owner=jdoe" // no final newline
	cases := []struct {
		name string
		args []string
		code int
		out  string
		errs []string // substrings of stderr
	}{
		{
			name: "urls",
			out: "https://crm.example.com/accounts/{id}/invoices?page=2\n\n\nhttps://app.example.com/\nmailto:\n\n" +
				"https://crm.example.com/reports\n",
			errs: []string{"line 2: sanitize: not an absolute URL", "line 3: sanitize: empty input", "line 6: sanitize: input too long"},
		},
		{
			name: "templates and allowed keys",
			args: []string{"--template", "--allow", "report"},
			out:  "/accounts/{id}/invoices\n\n\n/#/users/{user}/profile\n\n\n/reports\n",
			errs: []string{"line 2:", "line 3:", "line 6:"},
		},
		{
			name: "allowed key",
			args: []string{"--allow", "report, quarter"},
			out: "https://crm.example.com/accounts/{id}/invoices?page=2\n\n\nhttps://app.example.com/\nmailto:\n\n" +
				"https://crm.example.com/reports?report=pipeline\n",
		},
		{name: "sensitive allowed key", args: []string{"--allow", "page,utm_source"}, code: 2, errs: []string{"--allow key 2: sanitize: query key is sensitive"}},
		{name: "arguments", args: []string{"https://example.com/"}, code: 2, errs: []string{"read from stdin"}},
		{name: "bad flag", args: []string{"--nope"}, code: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runSanitizeCmd(t, stdin, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, errs)
			}
			if c.code == 0 && out != c.out {
				t.Fatalf("stdout\n%q\nwant\n%q", out, c.out)
			}
			if c.code == 0 && strings.Count(out, "\n") != strings.Count(stdin, "\n")+1 {
				t.Fatalf("%d output lines for %d input lines", strings.Count(out, "\n"), strings.Count(stdin, "\n")+1)
			}
			for _, e := range c.errs {
				if !strings.Contains(errs, e) {
					t.Errorf("stderr %q lacks %q", errs, e)
				}
			}
			if strings.Contains(out+errs, secret) || strings.Contains(out+errs, "jdoe") {
				t.Fatalf("a secret reached the output: %q %q", out, errs)
			}
		})
	}
}

func TestSanitizeCommandEnv(t *testing.T) {
	t.Setenv("WEBUSAGE_TEMPLATE", "true")
	code, out, _ := runSanitizeCmd(t, "https://example.com/users/jdoe\n")
	if code != 0 || out != "/users/{user}\n" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}
