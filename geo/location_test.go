package geo

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseGranularity(t *testing.T) {
	for in, want := range map[string]Granularity{
		"off": GranularityOff, "country": GranularityCountry, "state": GranularityState,
		"city": GranularityCity, " City ": GranularityCity, "STATE": GranularityState,
	} {
		got, err := ParseGranularity(in)
		if err != nil || got != want {
			t.Errorf("ParseGranularity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "region", "cities", "of f"} {
		if got, err := ParseGranularity(in); err == nil {
			t.Errorf("ParseGranularity(%q) = %q, want an error", in, got)
		}
	}
}

func TestLimit(t *testing.T) {
	full := Location{"CH", "Switzerland", "Vaud", "Lausanne", ptr(46.51649), ptr(-6.63281)}
	cases := []struct {
		g    Granularity
		want Location
	}{
		{GranularityCity, Location{"CH", "Switzerland", "Vaud", "Lausanne", ptr(46.52), ptr(-6.63)}},
		{GranularityState, Location{CountryCode: "CH", Country: "Switzerland", State: "Vaud"}},
		{GranularityCountry, Location{CountryCode: "CH", Country: "Switzerland"}},
		{GranularityOff, Location{}},
		{"", Location{}},
		{"planet", Location{}},
	}
	for _, c := range cases {
		if got := full.Limit(c.g); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Limit(%q) = %s, want %s", c.g, show(got), show(c.want))
		}
	}

	// The result never shares coordinates with the input.
	got := full.Limit(GranularityCity)
	*got.Latitude = 0
	if *full.Latitude != 46.51649 {
		t.Error("Limit shares the latitude pointer with its input")
	}

	// One coordinate alone is not stored; negative zero is not stored.
	half := Location{CountryCode: "GB", City: "London", Latitude: ptr(51.5)}
	if got := half.Limit(GranularityCity); got.Latitude != nil || got.Longitude != nil {
		t.Errorf("Limit kept a lone coordinate: %s", show(got))
	}
	tiny := Location{Latitude: ptr(-0.001), Longitude: ptr(0.004)}.Limit(GranularityCity)
	if b, _ := json.Marshal(tiny); string(b) != `{"latitude":0,"longitude":0}` {
		t.Errorf("rounded tiny coordinates = %s", b)
	}
}

func TestLocationJSONOmitsAbsentFields(t *testing.T) {
	b, err := json.Marshal(Location{CountryCode: "SE", Country: "Sweden"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"country_code":"SE","country":"Sweden"}` {
		t.Errorf("JSON = %s", b)
	}
}

func TestCountryNameAndCode(t *testing.T) {
	for code, want := range map[string]string{"GB": "United Kingdom", "US": "United States", "CH": "Switzerland", "XK": "Kosovo", "ZZ": "", "": ""} {
		if got := CountryName(code); got != want {
			t.Errorf("CountryName(%q) = %q, want %q", code, got, want)
		}
	}
	if n := len(countryNames); n != 250 {
		t.Errorf("country table has %d entries, want 250 (249 ISO 3166-1 + XK)", n)
	}
	for in, want := range map[string]string{"gb": "GB", "Gb": "GB", "GB": "GB", "ZZ": "", "zz": "", "G": "", "GBR": "", "1A": "", "": ""} {
		if got := normalizeCode(in); got != want {
			t.Errorf("normalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}
