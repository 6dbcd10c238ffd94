package sanitize

import (
	"strings"
	"sync"
	"testing"
)

func TestCheckAllowedQueryKey(t *testing.T) {
	ok := []string{"report", "quarter", "filter[status]", "api-version", "Region", "view.mode", "grid", "width", "skin"}
	for _, k := range ok {
		if err := CheckAllowedQueryKey(k); err != nil {
			t.Errorf("CheckAllowedQueryKey(%q) = %v, want nil", k, err)
		}
	}
	sensitive := []string{"code", "state", "token", "access_token", "id_token", "login_hint", "sig", "X-Amz-Signature",
		"X-Amz-Credential", "x-goog-signature", "skoid", "se", "utm_source", "UTM_Campaign", "gclid", "fbclid",
		"msclkid", "mc_eid", "_hsenc", "mkt_tok", "email", "user_email", "pwd", "password", "session_id",
		"jsessionid", "SAMLResponse", "RelayState", "redirect_uri", "returnTo", "next", "url", "q", "name",
		"user[email]", "sys_id", "customer_id", "apikey", "client_secret", "authuser", "phone", "si", "ref"}
	for _, k := range sensitive {
		if err := CheckAllowedQueryKey(k); err != ErrKeySensitive {
			t.Errorf("CheckAllowedQueryKey(%q) = %v, want ErrKeySensitive", k, err)
		}
	}
	malformed := []string{"", "a b", "a=b", "a&b", "ключ", strings.Repeat("k", 65), "a%20b", "a\x00"}
	for _, k := range malformed {
		if err := CheckAllowedQueryKey(k); err != ErrKeyMalformed {
			t.Errorf("CheckAllowedQueryKey(%q) = %v, want ErrKeyMalformed", k, err)
		}
	}
	for _, err := range []error{ErrKeySensitive, ErrKeyMalformed} {
		for _, k := range sensitive {
			if strings.Contains(err.Error(), k) && len(k) > 4 {
				t.Errorf("error %q names a key", err)
			}
		}
	}
}

// Every built-in allowed key must itself pass the check that admin keys pass.
func TestDefaultKeysAreAllowable(t *testing.T) {
	for k := range defaultAllowedKeys {
		if err := CheckAllowedQueryKey(k); err != nil {
			t.Errorf("default key %q: %v", k, err)
		}
	}
	for host, keys := range hostAllowedKeys {
		for k := range keys {
			if err := CheckAllowedQueryKey(k); err != nil {
				t.Errorf("key %q of %s: %v", k, host, err)
			}
		}
	}
}

// A sensitive key passed in Options anyway (a bypassed check, an old
// database row) is still dropped.
func TestOptionsCannotAllowSensitiveKeys(t *testing.T) {
	opts := Options{AllowedQueryKeys: []string{"token", "utm_source", "email", "report"}}
	res, err := URL("https://crm.example.com/r?token=abc&utm_source=news&email=x&report=pipeline", opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.URL != "https://crm.example.com/r?report=pipeline" {
		t.Fatalf("got %q", res.URL)
	}
}

// URL is safe for concurrent use (run with -race).
func TestConcurrentUse(t *testing.T) {
	cases := loadCorpus(t)
	want := make([]Result, len(cases))
	for i, c := range cases {
		want[i], _ = URL(c.in, Options{AllowedQueryKeys: c.allow})
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i, c := range cases {
				if got, _ := URL(c.in, Options{AllowedQueryKeys: c.allow}); got != want[i] {
					t.Errorf("line %d: concurrent result %q differs from %q", c.line, got.URL, want[i].URL)
				}
			}
		})
	}
	wg.Wait()
}

func TestErrorsNeverCarryInput(t *testing.T) {
	for _, in := range []string{"", "   ", "secret-value-123 not a url", "/relative?token=secret-value-123",
		"http://secret-value-123:99999/", "http://[secret-value-123]/", "https://exa mple.com/secret-value-123",
		"com.secret-value-123456:/x", strings.Repeat("secret-value-123", 5000)} {
		_, err := URL(in, Options{})
		if err == nil {
			t.Errorf("URL(%.40q) gave no error", in)
			continue
		}
		if strings.Contains(err.Error(), "secret-value-123") {
			t.Errorf("error %q carries the input", err)
		}
	}
}

func TestVersion(t *testing.T) {
	if Version == "" || strings.ContainsAny(Version, " \n") {
		t.Fatalf("Version %q", Version)
	}
}
