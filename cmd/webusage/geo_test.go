package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

var (
	geoCityTest    = filepath.Join("..", "..", "geo", "testdata", "GeoIP2-City-Test.mmdb")
	geoCountryTest = filepath.Join("..", "..", "geo", "testdata", "GeoLite2-Country-Test.mmdb")
)

// runGeoCmd runs `webusage geo args...` in-process with stdin.
func runGeoCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), append([]string{"geo"}, args...), stdio{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestGeoCommand(t *testing.T) {
	t.Setenv("WEBUSAGE_GEO_DB", "")
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		out    string
		stderr string
	}{
		{
			name: "arguments, several files in order",
			args: []string{"--db", geoCityTest + "," + geoCountryTest, "81.2.69.142", "2001:218::", "89.160.20.112", "10.0.0.1", "::1", "8.8.8.8"},
			out: `{"ip":"81.2.69.142","country_code":"GB","country":"United Kingdom","state":"England","city":"London","latitude":51.5142,"longitude":-0.0931}
{"ip":"2001:218::","country_code":"JP","country":"Japan","latitude":35.68536,"longitude":139.75309}
{"ip":"89.160.20.112","country_code":"SE","country":"Sweden","state":"Östergötland County","city":"Linköping","latitude":58.4167,"longitude":15.6167}
{"ip":"10.0.0.1"}
{"ip":"::1"}
{"ip":"8.8.8.8"}
`,
			stderr: "GeoLite2 data created by MaxMind",
		},
		{
			name:  "stdin with granularity",
			stdin: "81.2.69.142\n\n 89.160.20.112 \n",
			args:  []string{"--db", geoCityTest, "--granularity", "state"},
			out: `{"ip":"81.2.69.142","country_code":"GB","country":"United Kingdom","state":"England"}
{"ip":"89.160.20.112","country_code":"SE","country":"Sweden","state":"Östergötland County"}
`,
		},
		{
			name: "city granularity rounds",
			args: []string{"--db", geoCityTest, "--granularity=city", "81.2.69.142"},
			out:  `{"ip":"81.2.69.142","country_code":"GB","country":"United Kingdom","state":"England","city":"London","latitude":51.51,"longitude":-0.09}` + "\n",
		},
		{
			name: "not an IP",
			args: []string{"--db", geoCityTest, "81.2.69.142", "nope"},
			code: 1,
			out: `{"ip":"81.2.69.142","country_code":"GB","country":"United Kingdom","state":"England","city":"London","latitude":51.5142,"longitude":-0.0931}
{"ip":"nope","error":"not an IP address"}
`,
		},
		{name: "no db", args: []string{"81.2.69.142"}, code: 2, stderr: "--db is required"},
		{name: "bad granularity", args: []string{"--db", geoCityTest, "--granularity", "street", "1.1.1.1"}, code: 2, stderr: "invalid granularity"},
		{name: "missing file", args: []string{"--db", "nope.mmdb", "1.1.1.1"}, code: 1, stderr: "geo: open database nope.mmdb"},
		{name: "bad flag", args: []string{"--dbx", "x"}, code: 2, stderr: "flag provided but not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runGeoCmd(t, c.stdin, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if out != c.out {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, c.out)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, c.stderr)
			}
		})
	}
}

func TestGeoCommandReadsDBFromEnvironment(t *testing.T) {
	t.Setenv("WEBUSAGE_GEO_DB", geoCountryTest)
	code, out, stderr := runGeoCmd(t, "", "2001:218::")
	if code != 0 || out != `{"ip":"2001:218::","country_code":"JP","country":"Japan"}`+"\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
