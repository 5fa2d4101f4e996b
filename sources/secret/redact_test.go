package secret

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// encodings are the ways a server echoes a value, as the tests write
// them independently of Forms.
func encodings(v string) map[string]string {
	j, _ := json.Marshal(v)
	q := strconv.Quote(v)
	return map[string]string{
		"raw":            v,
		"query-escaped":  url.QueryEscape(v),
		"path-escaped":   url.PathEscape(v),
		"go-quoted":      q[1 : len(q)-1],
		"json":           string(j[1 : len(j)-1]),
		"base64":         base64.StdEncoding.EncodeToString([]byte(v)),
		"base64 raw url": base64.RawURLEncoding.EncodeToString([]byte(v)),
		"base64 escaped": url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(v))),
	}
}

// assertClean fails when text holds any encoding of any of values.
func assertClean(t *testing.T, what, text string, values ...string) {
	t.Helper()
	for _, v := range values {
		for name, form := range encodings(v) {
			if strings.Contains(text, form) {
				t.Errorf("%s: the %s form of %q is still there: %s", what, name, v, text)
			}
		}
	}
}

func TestRedactsEveryForm(t *testing.T) {
	const token, user, pass, key = "tok/en+with=chars&more", "admin", "pa ss/w+rd\"x", "api-key-secret-1"
	r := New().AddToken("Bearer", token).AddBasic(user, pass).Add(key)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	values := []string{token, "Bearer " + token, pass, basic, "Basic " + basic, key}
	for _, v := range values {
		for name, form := range encodings(v) {
			text := "before " + form + " after"
			got := r.String(text)
			if !strings.Contains(got, Mask) || !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
				t.Errorf("%s form of %q: %q", name, v, got)
			}
			assertClean(t, name+" form of "+v, got, values...)
		}
	}
	if got := r.String("nothing secret here"); got != "nothing secret here" {
		t.Errorf("clean text changed: %q", got)
	}
}

// A server that base64-encodes a whole request dump puts the token at any
// offset of a 3-byte group: the encoding of the token alone is not in it.
func TestRedactsBase64OfLargerText(t *testing.T) {
	const token = "a-long-bearer-token-0123456789"
	r := New().AddToken("Bearer", token)
	for prefix := range 3 {
		dump := strings.Repeat("x", prefix) + "GET /api HTTP/1.1\nAuthorization: Bearer " + token + "\nAccept: */*\n"
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			text := "echo: " + enc.EncodeToString([]byte(dump))
			got := r.String(text)
			if got == text {
				t.Fatalf("prefix %d: nothing redacted in %s", prefix, text)
			}
			// What is left decodes to at most two bytes of the token at each end.
			for _, part := range strings.Split(strings.TrimPrefix(got, "echo: "), Mask) {
				b, _ := enc.DecodeString(part[:len(part)/4*4])
				if strings.Contains(string(b), token[2:len(token)-2]) || strings.Contains(string(b), token[:6]) {
					t.Errorf("prefix %d: %q still decodes to the token", prefix, part)
				}
			}
		}
	}
}

// A token file is re-read at each redaction: the rotated token is
// redacted, and so is the one read when the Redactor was built.
func TestTokenFileIsReread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first-token-1111")
	r := New().AddTokenFile("Token", path)
	write("rotated-token-2222")
	got := r.String("old first-token-1111, new rotated-token-2222, header " + base64.StdEncoding.EncodeToString([]byte("Token rotated-token-2222")))
	assertClean(t, "rotated", got, "first-token-1111", "rotated-token-2222", "Token rotated-token-2222")
	if strings.Count(got, Mask) != 3 {
		t.Errorf("want 3 redactions: %s", got)
	}
	// A missing file leaves the rest working.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := r.String("first-token-1111"); got != Mask {
		t.Errorf("after the file went: %q", got)
	}
}

func TestErrorKeepsIsHidesChain(t *testing.T) {
	const token = "err-token-12345"
	r := New().AddToken("Bearer", token)
	inner := fmt.Errorf("401 page: Authorization: Bearer %s: %w", token, fs.ErrPermission)
	err := r.Error(fmt.Errorf("query failed: %w", inner))
	if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), Mask) {
		t.Fatalf("not redacted: %v", err)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("errors.Is lost the chain")
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("Unwrap exposes the secret")
	}
	// An outer text that abbreviates the inner one still hides the chain.
	short := &abbreviated{err: inner}
	if got := r.Error(short); got == error(short) || errors.Unwrap(got) != nil {
		t.Errorf("an abbreviating wrapper kept its secret-holding chain: %#v", got)
	}
	clean := errors.New("nothing here")
	if r.Error(clean) != clean {
		t.Errorf("a clean error was wrapped")
	}
	if r.Error(nil) != nil {
		t.Errorf("nil error")
	}
	var none *Redactor
	if none.Error(clean) != clean || none.String("x") != "x" {
		t.Errorf("a nil Redactor changed something")
	}
}

type abbreviated struct{ err error }

func (a *abbreviated) Error() string { return "request failed" }
func (a *abbreviated) Unwrap() error { return a.err }

func TestLearnedAndJoined(t *testing.T) {
	a := New().AddToken("Bearer", "static-token-aaaa")
	b := New()
	b.Learn("Bearer exec-plugin-token-bbbb")
	b.Learn("Basic " + base64.StdEncoding.EncodeToString([]byte("u:learned-password")))
	j := Join(a, b, nil)
	b.Learn("Bearer learned-after-join-cccc")
	got := j.String("static-token-aaaa exec-plugin-token-bbbb learned-password learned-after-join-cccc")
	if got != strings.Repeat(Mask+" ", 3)+Mask {
		t.Errorf("joined: %q", got)
	}
	// Only the last few distinct headers are kept.
	for i := range 3 * maxLearned {
		b.Learn(fmt.Sprintf("Bearer rotating-token-%04d", i))
	}
	if n := len(b.learned[0].values); n != maxLearned {
		t.Errorf("learned %d headers, want %d", n, maxLearned)
	}
	if got := b.String(fmt.Sprintf("rotating-token-%04d", 3*maxLearned-1)); got != Mask {
		t.Errorf("the newest learned token: %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("file-token-123456"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := New().AddTokenFile("Bearer", path)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for k := range 50 {
				r.Learn(fmt.Sprintf("Bearer t-%d-%d-xxxxxxxx", i, k%3))
				_ = r.Error(errors.New("file-token-123456"))
			}
		})
	}
	wg.Wait()
}

// Short values are redacted as they are, but their derived forms would
// match ordinary text and are left out.
func TestShortValues(t *testing.T) {
	forms := Forms("ab")
	if len(forms) != 1 || forms[0] != "ab" {
		t.Errorf("forms of a short value: %q", forms)
	}
	if got := New().Add("").AddToken("Bearer", "").AddBasic("", "").String("text"); got != "text" {
		t.Errorf("empty secrets redacted something: %q", got)
	}
}

// Text cut in the middle of a secret (an abbreviated message, the first
// bytes of an error page) keeps no recognisable piece of it.
func TestRedactsCutSecrets(t *testing.T) {
	const token = "cut-token-0123456789abcdef"
	r := New().AddToken("Bearer", token)
	b64 := base64.StdEncoding.EncodeToString([]byte("Bearer " + token))
	for _, text := range []string{
		"page: Authorization: Bearer " + token[:15] + "…",
		"page: Authorization: Bearer " + token[:12] + "; next error",
		"…" + token[9:] + " was refused",
		"header " + b64[:20] + "…",
	} {
		got := r.String(text)
		if !strings.Contains(got, Mask) {
			t.Errorf("%q: nothing redacted", text)
		}
		for _, piece := range []string{token[:9], token[len(token)-9:], b64[8:16]} {
			if strings.Contains(got, piece) {
				t.Errorf("%q → %q still holds %q", text, got, piece)
			}
		}
	}
	// Words shorter than the cut length stay.
	if got := r.String("HTTP 401: Bearer token refused"); got != "HTTP 401: Bearer token refused" {
		t.Errorf("ordinary text changed: %q", got)
	}
}
