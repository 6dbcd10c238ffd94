package sanitize

import (
	"errors"
	"strings"
	"unsafe"
)

// defaultAllowedKeys are query keys that select a view and never identify a
// person. Their values are kept only when they are plain words.
var defaultAllowedKeys = set("page", "per_page", "pagesize", "page_size", "limit", "sort", "sortby",
	"sort_by", "order", "orderby", "order_by", "dir", "direction", "view", "tab", "lang", "locale", "hl",
	"language", "format", "mode", "type", "category", "section", "theme",
	"layout", "size", "output", "region", "currency", "version", "api-version", "ui", "kind")

// hostAllowedKeys are keys allowed only on one host, because elsewhere the
// same key can name a person (family=Doe in a FHIR search).
var hostAllowedKeys = map[string]map[string]bool{
	"fonts.googleapis.com": set("family", "display", "subset"),
}

// maxQueryPairs bounds how many query pairs are kept, maxQueryScan how many
// are looked at (the rest of a longer query is dropped).
const (
	maxQueryPairs = 16
	maxQueryScan  = 128
)

// Errors returned by CheckAllowedQueryKey.
var (
	ErrKeyMalformed = errors.New("sanitize: query key must be 1-64 characters of letters, digits, '.', '_', '-', '[', ']'")
	ErrKeySensitive = errors.New("sanitize: query key is sensitive or tracking and can never be allowed")
)

// CheckAllowedQueryKey reports an error when key can never be allowed: it is
// malformed, or it is a sensitive or tracking key (code, token, sig,
// X-Amz-Signature, utm_source, email, ...). Keys are compared
// case-insensitively. The error never contains key.
func CheckAllowedQueryKey(key string) error {
	if key == "" || len(key) > 64 {
		return ErrKeyMalformed
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(isASCIIAlnum(c) || c == '.' || c == '_' || c == '-' || c == '[' || c == ']') {
			return ErrKeyMalformed
		}
	}
	if isSensitiveKey(strings.ToLower(key)) {
		return ErrKeySensitive
	}
	return nil
}

// sensitiveKeys are exact keys that carry secrets, identities or tracking ids.
var sensitiveKeys = set(
	// OAuth / OIDC / SAML.
	"code", "state", "nonce", "id_token", "access_token", "refresh_token", "token", "login_hint",
	"code_verifier", "code_challenge", "client_secret", "assertion", "samlrequest", "samlresponse",
	"relaystate", "wresult", "wctx", "wa", "sigalg", "signature", "sig", "ticket", "st", "sid",
	// Presigned URLs: AWS, Azure SAS, GCS, CloudFront.
	"awsaccesskeyid", "expires", "policy", "key-pair-id", "se", "sp", "sv", "sr", "ss", "srt", "spr",
	"sip", "skoid", "sktid", "skt", "ske", "sks", "skv", "sdd", "rscc", "rscd", "rsce", "rscl", "rsct",
	"googleaccessid", "key", "apikey", "api_key", "x-goog-signature",
	// People.
	"email", "e", "mail", "user", "username", "userid", "user_id", "uid", "u", "name", "first_name",
	"last_name", "firstname", "lastname", "fullname", "phone", "tel", "mobile", "address", "zip",
	"postcode", "dob", "ssn", "upn", "login", "q", "query", "search", "s", "term", "k", "id", "pwd",
	"pass", "password", "passcode", "otp", "pin", "uname", "recipient", "to", "from", "cc", "bcc",
	// Sessions.
	"session", "sessionid", "session_id", "jsessionid", "phpsessid", "aspsessionid", "cfid", "cftoken",
	"sessid", "ssid", "auth", "authuser", "hash", "h", "t", "v", "p", "r", "c", "m",
	// Redirects (they nest whole URLs with their own secrets).
	"redirect", "redirect_uri", "redirect_url", "redirecturl", "return", "returnto", "return_to",
	"returnurl", "return_url", "next", "url", "continue", "target", "dest", "destination", "goto",
	"callback", "service", "src", "source", "ref", "referrer", "referer", "origin", "back", "followup",
	// Tracking.
	"gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "twclid", "ttclid",
	"li_fat_id", "igshid", "si", "mc_eid", "mc_cid", "mkt_tok", "_hsenc", "_hsmi", "__hssc", "__hstc",
	"__hsfp", "hsctatracking", "vero_id", "vero_conv", "oly_enc_id", "oly_anon_id", "rb_clickid",
	"s_cid", "ef_id", "cmpid", "campaign", "trk", "trkcampaign", "sc_cid", "wickedid", "ml_subscriber",
	"ml_subscriber_hash", "epik", "srsltid", "_ga", "_gl", "spm", "scid", "irclickid", "clickid",
)

// sensitivePrefixes and sensitiveParts catch families of keys.
var (
	sensitivePrefixes = []string{"utm_", "x-amz-", "x-goog-", "_hs", "mc_", "pk_", "mtm_", "matomo_",
		"hsa_", "ga_", "fb_", "ns_", "oly_", "vero_", "__", "ajs_", "user[", "customer[",
		"account[", "contact[", "person["}
	sensitiveParts = []string{"token", "secret", "passw", "session", "sess", "email", "mail", "phone",
		"auth", "credential", "signature", "sig", "saml", "jwt", "apikey", "api_key", "otp", "nonce",
		"redirect", "return", "callback", "user", "name", "login", "account", "clid", "click", "track",
		"hash", "hmac", "key", "code", "ssn", "birth", "address", "uuid", "guid"}
	sensitiveSuffixes = []string{"_id", "-id", ".id", "id]"}
)

// isSensitiveKey reports a lower-case key that must always be dropped.
func isSensitiveKey(k string) bool {
	if sensitiveKeys[k] {
		return true
	}
	for _, p := range sensitivePrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for _, p := range sensitiveParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	for _, p := range sensitiveSuffixes {
		if strings.HasSuffix(k, p) {
			return true
		}
	}
	return false
}

// allowedKey returns the canonical (lower-case) spelling of key when it is
// allowed, or "".
func allowedKey(key, host string, opts *Options) string {
	var buf [64]byte
	if len(key) == 0 || len(key) > len(buf) {
		return ""
	}
	for i := 0; i < len(key); i++ {
		buf[i] = lower(key[i])
	}
	lk := unsafeString(buf[:len(key)])
	if defaultAllowedKeys[lk] || hostAllowedKeys[host][lk] {
		return lk
	}
	for _, k := range opts.AllowedQueryKeys {
		if strings.EqualFold(k, key) && CheckAllowedQueryKey(k) == nil {
			return lk
		}
	}
	return ""
}

type queryPair struct{ key, value string }

// appendQuery appends "?k=v&..." with the allowed pairs whose values are
// plain words, sorted by key, duplicates removed; nothing when none is left.
// Pairs are separated by '&', and by ';' where a key=value follows it.
func appendQuery(b []byte, query, host string, opts Options) []byte {
	if query == "" {
		return b
	}
	var pairs [maxQueryPairs]queryPair
	n := 0
	var keyBuf [maxQueryPairs][64]byte
	for scanned := 0; query != "" && n < maxQueryPairs && scanned < maxQueryScan; scanned++ {
		var pair string
		pair, query = nextPair(query)
		key, value, _ := strings.Cut(pair, "=")
		dk, ok := percentDecode(key, true)
		if !ok {
			continue
		}
		ak := allowedKey(dk, host, &opts)
		if ak == "" {
			continue
		}
		dv, ok := percentDecode(value, true)
		if !ok || !isQueryWord(dv) {
			continue
		}
		copy(keyBuf[n][:], ak)
		p := queryPair{key: unsafeString(keyBuf[n][:len(ak)]), value: dv}
		dup := false
		for i := 0; i < n; i++ {
			if pairs[i] == p {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		// Insertion sort by key keeps equal keys in input order.
		j := n
		for j > 0 && pairs[j-1].key > p.key {
			pairs[j] = pairs[j-1]
			j--
		}
		pairs[j] = p
		n++
	}
	for i := 0; i < n; i++ {
		if i == 0 {
			b = append(b, '?')
		} else {
			b = append(b, '&')
		}
		b = append(b, pairs[i].key...)
		b = append(b, '=')
		b = appendQueryEscaped(b, pairs[i].value)
	}
	return b
}

// nextPair returns the first pair of query and the rest. A ';' separates
// pairs only when a key=value follows it, so font specs such as
// family=Roboto:wght@400;700 stay whole.
func nextPair(query string) (pair, rest string) {
	end := strings.IndexByte(query, '&')
	if end < 0 {
		end = len(query)
	}
	pair = query[:end]
	if end < len(query) {
		rest = query[end+1:]
	}
	for i := 0; i < len(pair); i++ {
		if pair[i] != ';' {
			continue
		}
		next := pair[i+1:]
		if j := strings.IndexByte(next, ';'); j >= 0 {
			next = next[:j]
		}
		if strings.IndexByte(next, '=') >= 0 {
			if rest != "" {
				return pair[:i], pair[i+1:] + "&" + rest
			}
			return pair[:i], pair[i+1:]
		}
	}
	return pair, rest
}

// isQueryWord reports a query value made of plain words and short numbers
// (2, Roboto:wght@400;700, en-US, Open Sans), with no e-mail address.
func isQueryWord(v string) bool {
	if v == "" {
		return true
	}
	if len(v) > 64 || hasEmail(v) {
		return false
	}
	return wordLike(v, &valueSeps, true)
}

// appendQueryEscaped appends v percent-encoded for a query value: unreserved
// characters and ":@,;" stay, a space becomes '+', the rest %XX.
func appendQueryEscaped(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case isASCIIAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@' || c == ',' || c == ';':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return b
}

// unsafeString views b as a string without copying; b must not change while
// the string is in use.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
