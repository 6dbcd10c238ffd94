package sanitize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholders that replace values in paths. Each one is a fixed point of the
// classifier, which keeps sanitization idempotent.
const (
	phID    = "{id}"
	phUUID  = "{uuid}"
	phEmail = "{email}"
	phJWT   = "{jwt}"
	phToken = "{token}"
	phCard  = "{card}"
	phIBAN  = "{iban}"
	phPhone = "{phone}"
	phDate  = "{date}"
	phUser  = "{user}"
	phFile  = "{file}"
)

// isPlaceholder reports whether s is one of the placeholders (or a
// "{file}.ext" file placeholder) the sanitizer writes.
func isPlaceholder(s string) bool {
	if len(s) < 4 || s[0] != '{' {
		return false
	}
	switch s {
	case phID, phUUID, phEmail, phJWT, phToken, phCard, phIBAN, phPhone, phDate, phUser:
		return true
	}
	if ext, ok := strings.CutPrefix(s, phFile+"."); ok {
		return isExt(ext) && ext == strings.ToLower(ext)
	}
	return false
}

// classifySegment returns the placeholder for a once-decoded path segment,
// or "" when the segment may be kept as it is (a plain word).
func classifySegment(s string) string {
	if len(s) > 100 || !utf8.ValidString(s) {
		return phToken
	}
	if isPlaceholder(s) {
		return s
	}
	if strings.IndexByte(s, '@') >= 0 {
		switch {
		case s[0] == '@' && isWord(s[1:]):
			return phUser
		case hasEmail(s):
			return phEmail
		}
		return phToken
	}
	if len(s) <= 3 && strings.Trim(s, "-_:.") == "" {
		return ""
	}
	if s[0] == '~' {
		return phUser
	}
	if strings.HasPrefix(s, "eyJ") {
		return phJWT
	}
	if isUUID(s) {
		return phUUID
	}
	if base, ext, ok := splitExt(s); ok {
		lext := strings.ToLower(ext)
		if docExts[lext] || classifySegment(base) != "" {
			return phFile + "." + lext
		}
		return ""
	}
	if ph := classifyNumber(s); ph != "" {
		return ph
	}
	if isIBAN(s) {
		return phIBAN
	}
	if isRecordKey(s) || isSalesforceID(s) {
		return phID
	}
	if isWord(s) {
		return ""
	}
	if isAlnum(s) && len(s) <= 12 {
		return phID
	}
	return phToken
}

// splitExt splits "name.ext" when ext is a known file extension.
func splitExt(s string) (base, ext string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	ext = s[i+1:]
	if !isExt(ext) {
		return "", "", false
	}
	lext := strings.ToLower(ext)
	if !docExts[lext] && !webExts[lext] {
		return "", "", false
	}
	return s[:i], ext, true
}

func isExt(ext string) bool {
	if len(ext) == 0 || len(ext) > 5 {
		return false
	}
	for i := 0; i < len(ext); i++ {
		if !isASCIIAlnum(ext[i]) {
			return false
		}
	}
	return true
}

// docExts are extensions of documents and media: their names often carry a
// person's name or a subject, so the name always becomes {file}.
var docExts = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
	"ppt": true, "pptx": true, "odt": true, "ods": true, "odp": true, "rtf": true, "txt": true,
	"csv": true, "tsv": true, "msg": true, "eml": true, "vcf": true, "ics": true, "zip": true,
	"7z": true, "rar": true, "gz": true, "tar": true, "png": true, "jpg": true, "jpeg": true,
	"gif": true, "heic": true, "tif": true, "tiff": true, "bmp": true, "webp": true, "mp3": true,
	"mp4": true, "m4a": true, "mov": true, "avi": true, "wav": true, "pages": true, "numbers": true,
	"key": true, "one": true, "vsdx": true, "dwg": true, "dcm": true, "xml": true, "json": true,
}

// webExts are extensions of pages and assets whose names are usually words
// (Home.aspx, index.html); the name is kept when it is one.
var webExts = map[string]bool{
	"html": true, "htm": true, "aspx": true, "asp": true, "php": true, "jsp": true, "jspx": true,
	"do": true, "action": true, "cfm": true, "cgi": true, "pl": true, "js": true, "mjs": true,
	"css": true, "svg": true, "ico": true, "woff": true, "woff2": true, "ttf": true, "map": true,
	"shtml": true, "xhtml": true, "htmld": true, "md": true, "rss": true, "atom": true, "wasm": true,
}

// classifyNumber recognizes values made of digits and separators: dates,
// payment cards (Luhn), phone numbers and plain integers.
func classifyNumber(s string) string {
	digits, seps, plus := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
			plus = true
		case c == '-' || c == '.' || c == ' ' || c == '(' || c == ')' || c == '/':
			seps++
		default:
			return ""
		}
	}
	if digits == 0 {
		return ""
	}
	if isDate(s) {
		return phDate
	}
	if digits >= 13 && digits <= 19 && luhn(s) && (s[0] >= '2' && s[0] <= '6') {
		return phCard
	}
	if (plus || seps > 0) && digits >= 7 && digits <= 15 {
		return phPhone
	}
	if seps == 0 && !plus {
		return phID
	}
	return phToken
}

// isDate reports YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD and YYYY-MM.
func isDate(s string) bool {
	num := func(t string) int {
		n := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return -1
			}
			n = n*10 + int(t[i]-'0')
		}
		return n
	}
	var y, m, d int
	switch {
	case len(s) == 8:
		y, m, d = num(s[:4]), num(s[4:6]), num(s[6:])
	case len(s) == 10 && s[4] == s[7] && (s[4] == '-' || s[4] == '/' || s[4] == '.'):
		y, m, d = num(s[:4]), num(s[5:7]), num(s[8:])
	case len(s) == 7 && s[4] == '-':
		y, m, d = num(s[:4]), num(s[5:]), 1
	default:
		return false
	}
	return y >= 1900 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// luhn reports whether the digits of s pass the Luhn check.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// isIBAN reports a mod-97-valid IBAN (spaces allowed).
func isIBAN(s string) bool {
	var b [40]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			continue
		}
		if n == len(b) || !isASCIIAlnum(c) {
			return false
		}
		b[n] = upper(c)
		n++
	}
	if n < 15 || n > 34 || !isASCIILetter(b[0]) || !isASCIILetter(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) {
		return false
	}
	rem := 0
	for i := 0; i < n; i++ {
		c := b[(i+4)%n]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	return rem == 1
}

// isRecordKey reports issue keys such as PROJ-123 (Jira, Linear, ...).
func isRecordKey(s string) bool {
	i := strings.IndexByte(s, '-')
	if i < 2 || i > 10 || i == len(s)-1 {
		return false
	}
	if !isASCIIUpper(s[0]) {
		return false
	}
	for j := 1; j < i; j++ {
		if !isASCIIUpper(s[j]) && !isDigit(s[j]) {
			return false
		}
	}
	for j := i + 1; j < len(s); j++ {
		if !isDigit(s[j]) {
			return false
		}
	}
	return true
}

// isSalesforceID reports 15- and 18-character record ids (001Dn00000AbCdEIAV).
func isSalesforceID(s string) bool {
	if (len(s) != 15 && len(s) != 18) || !isAlnum(s) || !(isDigit(s[0]) || s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	return digits >= 3 && digits < len(s)
}

// isUUID reports a UUID in 8-4-4-4-12 form, optionally in braces.
func isUUID(s string) bool {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	switch len(s) {
	case 36:
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return false
				}
			} else if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// isWord reports whether s looks like plain words: letters (any script),
// short numbers beside letters, and a few separators. A word is kept as it is.
func isWord(s string) bool {
	return wordLike(s, &segmentSeps, false)
}

// wordLike splits s on the separator bytes seps and requires every part to be
// a word part. Digit-only parts are allowed when another part has letters, or
// everywhere when bareNumbers is set (query values such as page=2).
func wordLike(s string, seps *byteSet, bareNumbers bool) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	hasLetters := false
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !seps[s[i]] {
			continue
		}
		part := s[start:i]
		inParens := start > 0 && s[start-1] == '('
		start = i + 1
		if part == "" {
			continue
		}
		switch wordPart(part) {
		case partNone:
			return false
		case partDigits:
			// items(42) is a record id; chapter-12 is a word.
			if len(part) > 4 || inParens {
				return false
			}
		case partLetters:
			hasLetters = true
		}
	}
	return hasLetters || bareNumbers
}

// byteSet is a set of bytes for fast membership tests.
type byteSet [256]bool

func newByteSet(chars string) byteSet {
	var s byteSet
	for i := 0; i < len(chars); i++ {
		s[chars[i]] = true
	}
	return s
}

// Separators between the parts of a word in a path segment, a query value
// and a scheme name.
var (
	segmentSeps = newByteSet("-_.+ ,:()'!")
	valueSeps   = newByteSet("-_.+ ,:;@")
	schemeSeps  = newByteSet("+-.")
)

const (
	partNone = iota
	partDigits
	partLetters
)

// wordPart classifies one separator-free part: letters only (up to 30, not
// random-looking mixed case), digits only, or a short mix with one digit
// run (v2, oauth2, i18n, 2fa). Anything else is not a word part.
func wordPart(p string) int {
	letters, digits, runs, transitions := 0, 0, 0, 0
	prevDigit, prevLower := false, false
	firstRun, lastLetters := 0, 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			if !prevDigit {
				runs++
				if runs == 1 {
					firstRun = letters
				}
			}
			digits++
			prevDigit, prevLower = true, false
			lastLetters = 0
		case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			letters++
			lastLetters++
			if unicode.IsUpper(r) && prevLower {
				transitions++
			}
			prevDigit, prevLower = false, !unicode.IsUpper(r)
		default:
			return partNone
		}
	}
	switch {
	case digits == 0:
		if letters > 30 || transitions >= 3 && transitions*5 > letters {
			return partNone
		}
		return partLetters
	case letters == 0:
		return partDigits
	}
	if runs != 1 || digits > 3 || letters+digits > 12 || transitions > 1 || digits == 3 && letters > 2 {
		return partNone
	}
	// A digit run in the middle (i18n, k8s) needs a short side.
	if firstRun > 2 && lastLetters > 2 {
		return partNone
	}
	return partLetters
}

// hasEmail reports an e-mail address anywhere in s: local part, '@', and a
// domain with a dot and an alphabetic top-level label.
func hasEmail(s string) bool {
	for at := strings.IndexByte(s, '@'); at >= 0; {
		if at > 0 && isLocalChar(s[at-1]) && emailDomainAt(s[at+1:]) {
			return true
		}
		next := strings.IndexByte(s[at+1:], '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return false
}

func isLocalChar(c byte) bool {
	return isASCIIAlnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%' || c >= 0x80
}

// emailDomainAt reports whether s starts with a domain such as acme.co.uk.
func emailDomainAt(s string) bool {
	dots, tld := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if i == 0 || s[i-1] == '.' {
				return dots > 0 && tld >= 2
			}
			dots++
			tld = 0
		case isASCIILetter(c) || c >= 0x80:
			if dots > 0 {
				tld++
			}
		case isDigit(c) || c == '-':
			if dots > 0 {
				tld = -100
			}
		default:
			return dots > 0 && tld >= 2
		}
	}
	return dots > 0 && tld >= 2
}

// isTokenRun reports whether an alphanumeric run looks like a key or an id:
// 16 or more characters mixing letters with digits, where a short trailing
// number alone (performancemanager5) does not count.
func isTokenRun(run string) bool {
	if len(run) < 16 {
		return false
	}
	end := len(run)
	for end > 0 && isDigit(run[end-1]) {
		end--
	}
	if len(run)-end <= 2 {
		run = run[:end]
	}
	letters, digits := 0, 0
	for i := 0; i < len(run); i++ {
		if isDigit(run[i]) {
			digits++
		} else {
			letters++
		}
	}
	return digits > 0 && letters > 0
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIAlnum(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool       { return c >= '0' && c <= '9' }
func isHex(c byte) bool         { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isASCIIUpper(c byte) bool  { return c >= 'A' && c <= 'Z' }
func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isASCIIAlnum(c byte) bool  { return isDigit(c) || isASCIILetter(c) }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c - 'A' + 'a'
	}
	return c
}
