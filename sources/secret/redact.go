// Package secret keeps the credentials perch is configured with out of
// everything a person or a log collector can read (errors, the header,
// snapshots) and away from hosts they were not meant for.
//
// A Redactor is built once per source from its configured secrets and
// replaces every form a server may echo them in: verbatim, URL-escaped,
// Go/JSON-quoted, base64-encoded (also inside a larger base64 text), and
// the whole Authorization header in each of these forms. Token files are
// re-read at each redaction (tokens rotate), and credentials a layer
// perch does not own adds (client-go's exec plugins) are learned from the
// wire by a Guard.
//
// A Guard (a RoundTripper, for transports that add credentials below the
// HTTP client) and KeepOnOrigin (a CheckRedirect policy, for clients that
// put them on the request) send credentials to the configured origin only:
// a redirect elsewhere gets the request without them.
package secret

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Mask replaces each secret.
const Mask = "<redacted>"

// Redactor replaces every form of its secrets in text and errors. Build it
// with New and the Add methods before sharing it; String, Error and Learn
// are safe for concurrent use. A nil Redactor redacts nothing.
type Redactor struct {
	static  []string          // forms of the fixed secrets, longest first
	dynamic []func() []string // secrets read at redaction time (token files)
	learned []*learned        // credentials seen on the wire (one per Guard; more after Join)
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{learned: []*learned{{}}} }

// Add adds secrets as they are: passwords, API keys, header values.
func (r *Redactor) Add(values ...string) *Redactor {
	r.static = sortForms(append(r.static, Forms(values...)...))
	return r
}

// AddToken adds a token and the Authorization header carrying it
// (scheme "Bearer", "Token"; "" for the token alone).
func (r *Redactor) AddToken(scheme, token string) *Redactor {
	return r.Add(tokenValues(scheme, token)...)
}

// AddBasic adds basic auth's password and the header carrying user and
// password (base64 of user:password, "Basic ...").
func (r *Redactor) AddBasic(user, pass string) *Redactor {
	return r.Add(basicValues(user, pass)...)
}

// AddTokenFile adds the token a file holds, re-read at each redaction so
// a rotated token is redacted too (the one read now is kept as well).
func (r *Redactor) AddTokenFile(scheme, path string) *Redactor {
	if path == "" {
		return r
	}
	r.AddToken(scheme, ReadToken(path))
	return r.AddFunc(func() []string { return tokenValues(scheme, ReadToken(path)) })
}

// AddFunc adds secrets known only at redaction time; f is called at each
// redaction, concurrently.
func (r *Redactor) AddFunc(f func() []string) *Redactor {
	r.dynamic = append(r.dynamic, f)
	return r
}

// ReadToken is a token file's token without surrounding white space, ""
// when the file cannot be read.
func ReadToken(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func tokenValues(scheme, token string) []string {
	if token == "" {
		return nil
	}
	if scheme == "" {
		return []string{token}
	}
	return []string{token, scheme + " " + token}
}

func basicValues(user, pass string) []string {
	if user == "" && pass == "" {
		return nil
	}
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return []string{pass, enc, "Basic " + enc}
}

// maxLearned bounds the credentials a Redactor remembers from the wire: a
// token that rotates every few minutes must not grow it forever.
const maxLearned = 8

// learned holds the latest credentials a Guard saw going to its origin.
type learned struct {
	mu     sync.Mutex
	values []string // Authorization header values, newest last
	forms  []string
}

// Learn adds the credentials of an Authorization header that went to the
// configured host (a token an exec plugin fetched, say), so errors that
// echo it are redacted too. The last few distinct headers are kept.
func (r *Redactor) Learn(authorization string) {
	if r == nil || authorization == "" || len(r.learned) == 0 {
		return
	}
	l := r.learned[0]
	l.mu.Lock()
	defer l.mu.Unlock()
	if slices.Contains(l.values, authorization) {
		return
	}
	l.values = append(l.values, authorization)
	if len(l.values) > maxLearned {
		l.values = l.values[len(l.values)-maxLearned:]
	}
	var values []string
	for _, h := range l.values {
		values = append(values, headerValues(h)...)
	}
	l.forms = Forms(values...)
}

func (l *learned) current() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.forms
}

// headerValues are the secrets an Authorization header holds: itself, its
// credential, and for basic auth the password.
func headerValues(h string) []string {
	out := []string{h}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok {
		return out
	}
	out = append(out, cred)
	if strings.EqualFold(scheme, "Basic") {
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, pass, ok := strings.Cut(string(b), ":"); ok && pass != "" {
				out = append(out, pass)
			}
		}
	}
	return out
}

// Join is one Redactor for the secrets of all of rs (a source with
// several sets of credentials); later changes to rs (learned headers,
// rotated files) show through.
func Join(rs ...*Redactor) *Redactor {
	j := New()
	for _, r := range rs {
		if r == nil {
			continue
		}
		j.static = append(j.static, r.static...)
		j.dynamic = append(j.dynamic, r.dynamic...)
		j.learned = append(j.learned, r.learned...)
	}
	j.static = sortForms(j.static)
	return j
}

// current is every form to redact now, longest first.
func (r *Redactor) current() []string {
	if r == nil {
		return nil
	}
	if len(r.dynamic) == 0 && len(r.learned) == 0 {
		return r.static
	}
	var values []string
	for _, f := range r.dynamic {
		values = append(values, f()...)
	}
	forms := append(slices.Clip(r.static), Forms(values...)...)
	for _, l := range r.learned {
		forms = append(forms, l.current()...)
	}
	return sortForms(forms)
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	return replaceForms(s, r.current())
}

func replaceForms(s string, forms []string) string {
	for _, f := range forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	// Text shortened in the middle of a secret (a message abbreviated to
	// 200 characters, an error page read up to 256 bytes) holds a piece no
	// form matches: a run of a form's first or last minCut bytes or more
	// is taken for one.
	for _, f := range forms {
		if len(f) > minCut {
			s = replaceCut(s, f)
		}
	}
	return s
}

// minCut is the shortest piece of a cut secret that is redacted.
const minCut = 8

// replaceCut masks every run of text that agrees with f's start (or end)
// for at least minCut bytes.
func replaceCut(s, f string) string {
	head, tail := f[:minCut], f[len(f)-minCut:]
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], head)
		if i < 0 {
			break
		}
		i += from
		n := minCut
		for i+n < len(s) && n < len(f) && s[i+n] == f[n] {
			n++
		}
		s = s[:i] + Mask + s[i+n:]
		from = i + len(Mask)
	}
	for to := len(s); to > 0; {
		i := strings.LastIndex(s[:to], tail)
		if i < 0 {
			break
		}
		end, n := i+minCut, minCut
		for end-n > 0 && n < len(f) && s[end-n-1] == f[len(f)-n-1] {
			n++
		}
		s = s[:end-n] + Mask + s[end:]
		to = end - n
	}
	return s
}

// Error returns err with every secret replaced. errors.Is still sees the
// original chain; Unwrap does not expose it (its text holds the secret,
// perhaps only in an inner error that the outer text abbreviates). An
// error that holds no secret is returned as it is.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	forms := r.current()
	if len(forms) == 0 {
		return err
	}
	msg := err.Error()
	clean := replaceForms(msg, forms)
	if clean == msg && !chainHolds(err, forms) {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// chainHolds reports whether err or an error it wraps says one of forms.
func chainHolds(err error, forms []string) bool {
	for depth := 0; err != nil && depth < 32; depth++ {
		if replaceForms(err.Error(), forms) != err.Error() {
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

var base64Encodings = []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}

// Forms lists each value as a server may echo it: verbatim, URL- or
// string-escaped, base64-encoded (and that URL-escaped), and the part of
// its base64 encoding that shows whatever text surrounds it; longest
// first, so a longer form is replaced before a shorter one inside it.
// Derived forms of values (and forms) under 4 bytes are left out: they
// would garble ordinary text.
func Forms(values ...string) []string {
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
		if len(v) < 4 {
			continue
		}
		add(url.QueryEscape(v), true)
		add(url.PathEscape(v), true)
		q := strconv.Quote(v)
		add(q[1:len(q)-1], true)
		if j, err := json.Marshal(v); err == nil {
			add(string(j[1:len(j)-1]), true)
		}
		for _, enc := range base64Encodings {
			b := enc.EncodeToString([]byte(v))
			add(b, true)
			add(url.QueryEscape(b), true)
		}
		for _, core := range base64Cores(v) {
			add(core, true)
		}
	}
	return sortForms(out)
}

// minCore is the shortest value whose base64 cores are redacted: shorter
// ones leave too few characters to be told from other text.
const minCore = 12

// base64Cores are the stretches of base64 text that encode v wherever it
// sits in a larger text (an echoed request, base64-encoded whole): for
// each of the three alignments, the characters that depend on v's bytes
// only. At most two bytes of v at each end stay visible, in characters
// shared with the neighbouring text.
func base64Cores(v string) []string {
	if len(v) < minCore {
		return nil
	}
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for pad := range 3 {
			// pad leading bytes put v at that offset of a 3-byte group; the
			// first group (if shared with them) and the last partial one
			// depend on the neighbours.
			b := make([]byte, pad+len(v))
			copy(b[pad:], v)
			full := (len(b) / 3) * 4 // characters of complete groups
			start := 0
			if pad > 0 {
				start = 4
			}
			s := enc.EncodeToString(b)[start:full]
			out = append(out, s)
		}
	}
	return out
}

// sortForms orders forms longest first (then alphabetically) and drops
// repeats.
func sortForms(forms []string) []string {
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(forms)
}
