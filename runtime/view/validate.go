package view

import (
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// The checks below are what generated code calls for the string rules of
// validate tags (email, url, uuid, alpha, alphanum, numeric, hostname, ip,
// datetime), after binding, with no reflection and no regular expression:
// each is a loop over the string. They accept what go-playground/validator
// accepts for the rule of the same name, which Go developers already know;
// where its definition is a regular expression, the doc says which.

// IsEmail reports whether s is an email address: a local part, either
// dot-separated runs of letters, digits and !#$%&'*+-/=?^_`{|}~ or a
// quoted string, then @ and a domain of two or more dot-separated labels
// (letters, digits and inner hyphens; non-ASCII letters too). At most 64
// bytes before the @ and 254 in all, as RFC 5321 allows. Like validator's
// email rule, it refuses a domain of one label (ada@localhost) and address
// literals (ada@[192.0.2.1]), which RFC 5321 allows but which are not what
// a form asks for.
func IsEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 254 || at > 64 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '"' {
		if !quotedLocal(local) {
			return false
		}
	} else if !dotAtom(local) {
		return false
	}
	return strings.IndexByte(domain, '.') > 0 && domainName(domain, false)
}

// dotAtom reports whether s is runs of atext separated by single dots.
func dotAtom(s string) bool {
	run := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '.':
			if run == 0 {
				return false
			}
			run = 0
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError || !isLetterOrDigit(r) {
				return false
			}
			i += size
		case isAlnum(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
			i++
		default:
			return false
		}
		run++
	}
	return run > 0
}

// quotedLocal reports whether s is a quoted string of printable ASCII,
// with \ escaping any printable character.
func quotedLocal(s string) bool {
	if len(s) < 2 || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i >= len(s)-1 || s[i] < ' ' || s[i] > '~' {
				return false
			}
		case c == '"' || c < ' ' || c > '~':
			return false
		}
	}
	return true
}

// domainName reports whether s is dot-separated labels of letters, digits
// and inner hyphens, each at most 63 bytes, at most 253 in all; rfc952
// requires the first label to start with an ASCII letter instead of
// bounding the whole, as validator's hostname pattern does.
func domainName(s string, rfc952 bool) bool {
	if s == "" || !rfc952 && len(s) > 253 {
		return false
	}
	asciiLetterFirst := rfc952
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		if asciiLetterFirst {
			if c := label[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
			asciiLetterFirst = false
		}
		for i := 0; i < len(label); {
			c := label[i]
			if c < utf8.RuneSelf {
				if !isAlnum(c) && c != '-' {
					return false
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(label[i:])
			if r == utf8.RuneError || !isLetterOrDigit(r) {
				return false
			}
			i += size
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isLetterOrDigit admits the non-ASCII characters of internationalized
// addresses: those that are not spaces, controls or punctuation that mail
// syntax gives a meaning.
func isLetterOrDigit(r rune) bool {
	return r >= 0xA0 && r != 0xFEFF && !(r >= 0x2000 && r <= 0x206F)
}

// IsHostname reports whether s is a host name as RFC 952 has it, as
// validator's hostname rule reads it: dot-separated labels of ASCII
// letters, digits and inner hyphens, at most 63 bytes each, the first
// starting with a letter; no final dot.
func IsHostname(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return domainName(s, true)
}

// IsURL reports whether s is an absolute URL: it parses (url.Parse), has a
// scheme, and has a host, an opaque part (mailto:ada@example.com) or a
// fragment; a file: URL needs a path other than /.
func IsURL(s string) bool {
	if s == "" {
		return false
	}
	u, err := url.Parse(strings.ToLower(s))
	if err != nil || u.Scheme == "" {
		return false
	}
	if u.Scheme == "file" {
		return u.Path != "" && u.Path != "/"
	}
	return u.Host != "" || u.Opaque != "" || u.Fragment != ""
}

// IsUUID reports whether s is a UUID in its 36-character text form, in
// either case: ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// IsAlpha reports whether s is one or more ASCII letters: ^[a-zA-Z]+$.
func IsAlpha(s string) bool {
	for i := range len(s) {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// IsAlphanumeric reports whether s is one or more ASCII letters and
// digits: ^[a-zA-Z0-9]+$.
func IsAlphanumeric(s string) bool {
	for i := range len(s) {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return s != ""
}

// IsNumeric reports whether s is a decimal number with an optional sign
// and fraction: ^[-+]?[0-9]+(\.[0-9]+)?$.
func IsNumeric(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	return digits(whole) && (!hasFrac || digits(frac))
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// IsIP reports whether s is an IPv4 or IPv6 address, without a zone, as
// net.ParseIP reads it.
func IsIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// IsTime reports whether time.Parse reads s with layout.
func IsTime(s, layout string) bool {
	_, err := time.Parse(layout, s)
	return err == nil
}

// PointerKey escapes a map key for a JSON pointer (RFC 6901): ~ as ~0, /
// as ~1. Generated code names the values of a map in a body's problems
// with it.
func PointerKey(key string) string {
	if !strings.ContainsAny(key, "~/") {
		return key
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}
