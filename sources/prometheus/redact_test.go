package prometheus

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// echoDump answers like a debugging gateway: the credentials verbatim,
// base64-encoded and URL-escaped.
func echoDump(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	return fmt.Sprintf("Authorization: %s\nbase64: %s\nescaped: %s\nkey: %s\n", auth,
		base64.StdEncoding.EncodeToString([]byte(auth)), url.QueryEscape(auth), r.Header.Get("X-Api-Key"))
}

// Secrets are removed from errors in every form a server may echo them,
// including a token file's current (rotated) token.
func TestRedactsEchoedCredentialsInEveryForm(t *testing.T) {
	const token, rotated, password, apiKey = "tok/en+with=chars", "rotated-token-2", "pa ss/w+rd", "api-key-secret-1"
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		r := &http.Request{Header: req.header}
		writeJSON(w, http.StatusInternalServerError, fmt.Sprintf(`{"status":"error","errorType":"internal","error":%q}`, echoDump(r)))
	})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("first-token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		mod     func(*Config)
		secrets []string
	}{
		"bearer": {func(c *Config) { c.BearerToken = token; c.Headers = map[string]string{"X-Api-Key": apiKey} },
			[]string{token, url.QueryEscape(token), base64.StdEncoding.EncodeToString([]byte("Bearer " + token)), apiKey}},
		"basic": {func(c *Config) { c.Username = "admin"; c.Password = password },
			[]string{password, base64.StdEncoding.EncodeToString([]byte("admin:" + password)),
				base64.StdEncoding.EncodeToString([]byte("Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+password))))}},
		"token file, rotated": {func(c *Config) { c.BearerTokenFile = tokenFile },
			[]string{rotated, base64.StdEncoding.EncodeToString([]byte("Bearer " + rotated)), url.QueryEscape("Bearer " + rotated)}},
	}
	for name, c := range cases {
		s := newTestSource(t, f.URL, func(cfg *Config) { c.mod(cfg); cfg.Presets = []string{"lambda"} })
		if name == "token file, rotated" {
			if err := os.WriteFile(tokenFile, []byte(rotated+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		u := s.Poll(context.Background())
		if u.Err == nil || !strings.Contains(u.Err.Error(), "<redacted>") {
			t.Fatalf("%s: the echo was not redacted (or not quoted at all): %v", name, u.Err)
		}
		for _, secret := range c.secrets {
			if strings.Contains(u.Err.Error(), secret) {
				t.Errorf("%s: error holds %q: %v", name, secret, u.Err)
			}
		}
	}
}

// A redirect to another host gets neither the credentials nor the
// configured headers; the configured host gets both, also after a
// redirect to itself.
func TestCredentialsGoToTheConfiguredHostOnly(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(who string, r *http.Request) {
		mu.Lock()
		got[who] = append(got[who], r.Header.Get("Authorization")+"|"+r.Header.Get("X-Scope-OrgID"))
		mu.Unlock()
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("other", r)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) // another host name, same machine
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		r := &http.Request{Header: req.header}
		record("configured", r)
		switch {
		case req.path == "/api/v1/query" && strings.Contains(req.query, "aws_lambda_invocations"):
			w.Header().Set("Location", otherURL+"/api/v1/query?query="+url.QueryEscape(req.query))
			w.WriteHeader(http.StatusTemporaryRedirect)
		case req.path == "/api/v1/query" && !strings.Contains(req.form.Get("hop"), "1"):
			w.Header().Set("Location", "/api/v1/query?hop=1&query="+url.QueryEscape(req.query))
			w.WriteHeader(http.StatusTemporaryRedirect)
		default:
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		}
	})
	s := newTestSource(t, f.URL, func(c *Config) {
		c.BearerToken = "only-for-the-configured-host"
		c.Headers = map[string]string{"X-Scope-OrgID": "tenant-a"}
		c.Presets = []string{"lambda"}
	})
	u := s.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "401") {
		t.Fatalf("the query redirected elsewhere must fail with the other host's 401: %v", u.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got["other"]) == 0 {
		t.Fatal("the redirect to the other host was not followed: the test proves nothing")
	}
	for _, h := range got["other"] {
		if h != "|" {
			t.Errorf("the other host received %q", h)
		}
	}
	for _, h := range got["configured"] {
		if h != "Bearer only-for-the-configured-host|tenant-a" {
			t.Errorf("the configured host received %q", h)
		}
	}
}

// A redirect loop is reported without the URL's query, where a server
// may have put anything (the test puts the credentials).
func TestTransportErrorsDropTheURLQuery(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		w.Header().Set("Location", req.path+"?leak="+url.QueryEscape(req.header.Get("Authorization")))
		w.WriteHeader(http.StatusFound)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.BearerToken = "loop-token-7"; c.Presets = []string{"lambda"} })
	u := s.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "stopped after 10 redirects") {
		t.Fatalf("redirect loop: %v", u.Err)
	}
	if strings.Contains(u.Err.Error(), "leak=") || strings.Contains(u.Err.Error(), "loop-token-7") {
		t.Fatalf("the redirect URL's query is in the error: %v", u.Err)
	}
}
