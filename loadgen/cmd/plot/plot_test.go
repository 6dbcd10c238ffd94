package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

const sample = `elapsed_s,rss_mib,goroutines
0,40.5,12
5,41,14
10,41.2,13
`

func TestRenderSVGDrawsOnePanelPerColumn(t *testing.T) {
	s, err := readSeries(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := renderSVG(&b, "Soak <10 min>", s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
		Texts []string `xml:"text"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("output is not well-formed SVG: %v\n%s", err, b.String())
	}
	if len(doc.Polylines) != 2 {
		t.Fatalf("%d polylines, want one per column (2)", len(doc.Polylines))
	}
	for i, p := range doc.Polylines {
		if n := len(strings.Fields(p.Points)); n != 3 {
			t.Errorf("polyline %d has %d points, want 3", i, n)
		}
	}
	all := strings.Join(doc.Texts, "|")
	for _, want := range []string{"Soak <10 min>", "rss_mib", "goroutines", "elapsed_s", "max 41.2"} {
		if !strings.Contains(all, want) {
			t.Errorf("labels %q lack %q", all, want)
		}
	}
}

func TestReadSeriesRejectsBadCSV(t *testing.T) {
	for name, in := range map[string]string{
		"header only":  "a,b\n",
		"one column":   "a\n1\n",
		"not a number": "a,b\n1,x\n",
		"ragged":       "a,b\n1,2,3\n",
	} {
		if _, err := readSeries(strings.NewReader(in)); err == nil {
			t.Errorf("%s: readSeries succeeded", name)
		}
	}
}

func TestNiceCeilLeavesHeadroom(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{{0, 1}, {41.2, 100}, {12, 20}, {3, 5}, {800, 1000}, {160, 200}} {
		if got := niceCeil(tc.in); got != tc.want {
			t.Errorf("niceCeil(%g) = %g, want %g", tc.in, got, tc.want)
		}
	}
}
