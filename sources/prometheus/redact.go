package prometheus

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
)

// redactor removes credentials from error text. Credentials never go into
// URLs here (the config moves them out) and only to the configured host,
// but a server may echo the request in its error page or redirect URL:
// the Authorization header verbatim, URL-escaped, or base64-encoded.
type redactor struct {
	forms     []string // every form of every configured secret, longest first
	tokenFile string   // re-read when redacting: the token rotates
}

func newRedactor(c Config) *redactor {
	var values []string
	if c.BearerToken != "" {
		values = append(values, c.BearerToken, "Bearer "+c.BearerToken)
	}
	if c.Password != "" {
		values = append(values, c.Password)
	}
	if c.Username != "" || c.Password != "" {
		// The Authorization header a server might echo back.
		basic := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
		values = append(values, basic, "Basic "+basic)
	}
	for k, v := range c.Headers {
		if sensitiveHeader(k) && v != "" {
			values = append(values, v)
		}
	}
	return &redactor{forms: secretForms(values...), tokenFile: c.BearerTokenFile}
}

func sensitiveHeader(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"auth", "token", "key", "secret", "cookie", "password"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

var base64Encodings = []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}

// secretForms lists each value as a server may echo it: verbatim, URL- or
// string-escaped, or base64-encoded; longest first, so a longer form is
// replaced before a shorter one inside it. Derived forms of very short
// values are left out: they would garble ordinary text.
func secretForms(values ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string, derived bool) {
		if f == "" || seen[f] || derived && len(f) < 4 {
			return
		}
		seen[f] = true
		out = append(out, f)
	}
	for _, v := range values {
		add(v, false)
		add(url.QueryEscape(v), true)
		add(url.PathEscape(v), true)
		q := strconv.Quote(v)
		add(q[1:len(q)-1], true)
		if j, err := json.Marshal(v); err == nil {
			add(string(j[1:len(j)-1]), true)
		}
		for _, enc := range base64Encodings {
			add(enc.EncodeToString([]byte(v)), true)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// current is the forms to redact now, with the token file's present token.
func (r *redactor) current() []string {
	if r.tokenFile == "" {
		return r.forms
	}
	b, err := os.ReadFile(r.tokenFile)
	tok := strings.TrimSpace(string(b))
	if err != nil || tok == "" {
		return r.forms
	}
	forms := append(secretForms(tok, "Bearer "+tok), r.forms...)
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

func redactString(s string, forms []string) string {
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, "<redacted>")
	}
	return s
}

// wrap returns err with every secret replaced. errors.Is still sees the
// original chain; Unwrap does not expose it (its text holds the secret,
// perhaps only in an inner error that the outer text abbreviates).
func (r *redactor) wrap(err error) error {
	if err == nil {
		return nil
	}
	forms := r.current()
	if len(forms) == 0 {
		return err
	}
	msg := err.Error()
	clean := redactString(msg, forms)
	if clean == msg && !chainHolds(err, forms) {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// chainHolds reports whether an error err wraps says one of the forms.
func chainHolds(err error, forms []string) bool {
	for depth := 0; err != nil && depth < 32; depth++ {
		if redactString(err.Error(), forms) != err.Error() {
			return true
		}
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if chainHolds(inner, forms) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return false
		}
	}
	return false
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
