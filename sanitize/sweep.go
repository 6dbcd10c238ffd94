package sanitize

import "bytes"

// leaks runs the value detectors over an output (host onwards) once
// percent-decoded: an e-mail address, a JWT, a UUID, a run of 6+ digits, an
// alphanumeric run of 16+ characters that mixes letters and digits, or a
// random-looking mixed-case letter run. Decoding can only join runs, never
// split them, so checking the decoded form also covers the raw one.
func leaks(out []byte) bool {
	if bytes.IndexByte(out, '%') < 0 {
		return leaksDecoded(out)
	}
	var buf [MaxOutputLen + 64]byte
	d := buf[:0]
	for i := 0; i < len(out); i++ {
		c := out[i]
		if c == '%' && i+2 < len(out) && isHex(out[i+1]) && isHex(out[i+2]) {
			c = unhex(out[i+1])<<4 | unhex(out[i+2])
			i += 2
		}
		d = append(d, c)
	}
	return leaksDecoded(d)
}

func leaksDecoded(d []byte) bool {
	s := unsafeString(d)
	if hasEmail(s) {
		return true
	}
	for i := 0; i+36 <= len(d); i++ {
		if d[i+8] == '-' && isHex(d[i]) && (i == 0 || !isHex(d[i-1])) && isUUID(s[i:i+36]) {
			return true
		}
	}
	start, letters, digits, run, transitions := 0, 0, 0, 0, 0
	prevLower := false
	for i := 0; i <= len(d); i++ {
		var c byte
		if i < len(d) {
			c = d[i]
		}
		switch {
		case isDigit(c):
			digits++
			run++
			if run >= 6 {
				return true
			}
			prevLower = false
			continue
		case isASCIILetter(c):
			if c == 'e' && i+2 < len(d) && d[i+1] == 'y' && d[i+2] == 'J' && base64Run(d[i:]) >= 16 {
				return true
			}
			letters++
			run = 0
			if isASCIIUpper(c) && prevLower {
				transitions++
			}
			prevLower = !isASCIIUpper(c)
			continue
		}
		if digits > 0 && letters > 0 && isTokenRun(s[start:i]) {
			return true
		}
		if digits == 0 && letters >= 12 && transitions >= 3 && transitions*5 > letters {
			return true
		}
		start, letters, digits, run, transitions = i+1, 0, 0, 0, 0
		prevLower = false
	}
	return false
}

// base64Run returns the length of the base64url run at the start of b.
func base64Run(b []byte) int {
	n := 0
	for n < len(b) && (isASCIIAlnum(b[n]) || b[n] == '-' || b[n] == '_' || b[n] == '.') {
		n++
	}
	return n
}
