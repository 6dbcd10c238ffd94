package sanitize

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Independent oracles for the "nothing identifying survives" property. They
// are regular expressions, deliberately not the package's own detectors.
var (
	oracleEmail  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	oracleUUID   = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	oracleJWT    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}`)
	oracleDigit  = regexp.MustCompile(`[0-9]{6,}`)
	oracleHex    = regexp.MustCompile(`[0-9a-fA-F]{16,}`)
	oracleAlnum  = regexp.MustCompile(`[A-Za-z0-9]{16,}`)
	oracleDigit1 = regexp.MustCompile(`[0-9]`)
	oracleLetter = regexp.MustCompile(`[A-Za-z]`)
	oracleEscape = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)
	// A short trailing number (performancemanager5) does not make a word a token.
	oracleTrailingNumber = regexp.MustCompile(`([A-Za-z])[0-9]{1,2}$`)
)

// identifierIn returns a description of the first identifier-like value in s
// (an output without its scheme), or "". It looks at the raw form, where an
// escape such as %20 is a separator and not data, and at the once-decoded
// form.
func identifierIn(s string) string {
	for _, form := range []string{oracleEscape.ReplaceAllString(s, "%"), onceDecoded(s)} {
		switch {
		case oracleEmail.MatchString(form):
			return "email"
		case oracleUUID.MatchString(form):
			return "uuid"
		case oracleJWT.MatchString(form):
			return "jwt"
		case oracleDigit.MatchString(form):
			return "digit run"
		}
		for _, m := range oracleHex.FindAllString(form, -1) {
			if oracleDigit1.MatchString(oracleTrailingNumber.ReplaceAllString(m, "$1")) {
				return "hex run"
			}
		}
		for _, m := range oracleAlnum.FindAllString(form, -1) {
			m = oracleTrailingNumber.ReplaceAllString(m, "$1")
			if oracleDigit1.MatchString(m) && oracleLetter.MatchString(m) {
				return "base64 run"
			}
		}
	}
	return ""
}

// onceDecoded percent-decodes s once, leaving malformed escapes as they are.
func onceDecoded(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// checkProperties asserts the SANITIZE.md properties for one input and
// returns the result. It reports failures without printing raw secrets
// beyond the test log.
func checkProperties(t testing.TB, in string, opts Options) (Result, error) {
	t.Helper()
	res, err := URL(in, opts)
	if err != nil {
		if res != (Result{}) {
			t.Fatalf("error %v with non-zero result %+v", err, res)
		}
		if len(in) >= 6 && strings.Contains(err.Error(), in) {
			t.Fatalf("error message contains the input")
		}
		return res, err
	}
	out := res.URL
	if out == "" {
		t.Fatalf("empty URL without error for %q", in)
	}
	if len(out) > MaxOutputLen {
		t.Fatalf("output longer than %d bytes: %d", MaxOutputLen, len(out))
	}
	u, perr := url.Parse(out)
	if perr != nil {
		t.Fatalf("output %q does not re-parse: %v", out, perr)
	}
	if u.User != nil || strings.Contains(out, "#") || u.Fragment != "" {
		t.Fatalf("output %q has userinfo or a fragment", out)
	}
	if isWebScheme(u.Scheme) {
		if u.Host == "" || !strings.HasPrefix(res.Template, "/") {
			t.Fatalf("output %q: empty host or template %q", out, res.Template)
		}
		if base, _, _ := strings.Cut(res.Template, "#"); base != rawPath(out) {
			t.Fatalf("template %q is not the path of %q", res.Template, out)
		}
		for k := range u.Query() {
			if !defaultAllowedKeys[k] && !hostAllowedKeys[u.Host][k] && !optAllowed(k, opts) {
				t.Fatalf("output %q keeps query key %q", out, k)
			}
		}
		rest := out[len(u.Scheme)+3:]
		if what := identifierIn(rest); what != "" {
			t.Fatalf("output %q still carries a %s", out, what)
		}
		if what := identifierIn(res.Template); what != "" {
			t.Fatalf("template %q still carries a %s", res.Template, what)
		}
	} else if out != u.Scheme+":" {
		t.Fatalf("non-web output %q keeps more than its scheme", out)
	}
	again, err := URL(out, opts)
	if err != nil {
		t.Fatalf("output %q does not sanitize again: %v", out, err)
	}
	if again.URL != out {
		t.Fatalf("not idempotent:\n in:  %q\n out: %q\n 2nd: %q", in, out, again.URL)
	}
	if !strings.Contains(res.Template, "#") && again.Template != res.Template {
		t.Fatalf("template not idempotent: %q then %q", res.Template, again.Template)
	}
	return res, nil
}

// rawPath returns the path of an output as written (braces unescaped).
func rawPath(out string) string {
	i := strings.Index(out, "://")
	rest := out[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "/"
	}
	rest = rest[j:]
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest = rest[:q]
	}
	return rest
}

func optAllowed(k string, opts Options) bool {
	for _, a := range opts.AllowedQueryKeys {
		if strings.EqualFold(a, k) && CheckAllowedQueryKey(a) == nil {
			return true
		}
	}
	return false
}
