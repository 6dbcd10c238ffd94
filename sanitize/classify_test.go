package sanitize

import "testing"

func TestClassifySegment(t *testing.T) {
	cases := map[string]string{
		"invoices":                             "",
		"SitePages":                            "",
		"en-us":                                "",
		"v2":                                   "",
		"r4":                                   "",
		"oauth2":                               "",
		"x1-carbon-gen11":                      "",
		"Home.aspx":                            "",
		"Zürich":                               "",
		"Mercury_(planet)":                     "",
		"items(42)":                            phToken,
		"12345":                                phID,
		"jane.doe@acme.com":                    phEmail,
		"@jdoe":                                phUser,
		"~jdoe":                                phUser,
		"eyJhbGciOiJIUzI1NiJ9.e30.sig":         phJWT,
		"0a1b2c3d-4e5f-6789-abcd-ef0123456789": phUUID,
		"2026-11-23":                           phDate,
		"20261123":                             phDate,
		"4111111111111111":                     phCard,
		"4111-1111-1111-1111":                  phCard,
		"4111111111111112":                     phID,
		"CH9300762011623852957":                phIBAN,
		"CH9300762011623852958":                phToken,
		"+41446681800":                         phPhone,
		"(555) 123-4567":                       phPhone,
		"PAY-1234":                             phID,
		"001Dn00000AbCdEIAV":                   phID,
		"AbCdEfGhIjKlMnOpQr":                   phToken,
		"abc123":                               phID,
		"Report Jane Doe.pdf":                  "{file}.pdf",
		"main.8f3a2b1c.js":                     "{file}.js",
		"{id}":                                 "{id}",
		"{file}.pdf":                           "{file}.pdf",
		"{file}.PDF":                           "{file}.pdf",
		"_":                                    "",
		"-":                                    "",
	}
	for in, want := range cases {
		if got := classifySegment(in); got != want {
			t.Errorf("classifySegment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLeaks(t *testing.T) {
	clean := []string{"example.com/v2/orders?page=3", "acme.sharepoint.com/sites/Engineering/SitePages/Home.aspx",
		"performancemanager5.successfactors.eu/sf", "example.com/Q3%202026%20Plan", "[2001:db8::1]:8080/x"}
	for _, s := range clean {
		if leaks([]byte(s)) {
			t.Errorf("leaks(%q) = true", s)
		}
	}
	dirty := []string{"example.com/jane%40acme.com", "example.com/a?x=jane@acme.com", "example.com/eyJhbGciOiJIUzI1NiJ9",
		"example.com/0a1b2c3d-4e5f-6789-abcd-ef0123456789", "example.com/x1234567", "example.com/%31%32%33%34%35%36",
		"example.com/abcdef0123456789ab", "example.com/AbCdEfGhIjKlMnOp"}
	for _, s := range dirty {
		if !leaks([]byte(s)) {
			t.Errorf("leaks(%q) = false", s)
		}
	}
}
