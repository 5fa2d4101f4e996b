package jaeger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/perch-dev/perch/sources"
)

// Error answers that quote the Authorization header (verbatim, base64,
// URL-escaped; in a 401 page or Jaeger's {"errors":[{msg}]}) reach
// StatusError redacted, for a token and a token file's rotated token.
func TestRedactsEchoedToken(t *testing.T) {
	echo := func(r *http.Request) string {
		auth := r.Header.Get("Authorization")
		return fmt.Sprintf("rejected %s (base64 %s, escaped %s)", auth, base64.StdEncoding.EncodeToString([]byte(auth)), url.QueryEscape(auth))
	}
	answers := map[string]http.HandlerFunc{
		"401 page": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, echo(r))
		},
		"500 JSON": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"code": 500, "msg": echo(r)}}})
		},
	}
	const token, rotated = "jaeger-tok/en+1", "rotated-jaeger-token"
	file := filepath.Join(t.TempDir(), "token")
	for name, answer := range answers {
		srv := httptest.NewServer(answer)
		defer srv.Close()
		for setting, mod := range map[string]func(*Config){
			"bearer_token": func(c *Config) { c.BearerToken, c.API = token, APIV1 },
			"token_file":   func(c *Config) { c.TokenFile, c.API = file, APIV1 },
		} {
			if err := os.WriteFile(file, []byte("first-jaeger-token\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newSource(t, srv.URL, mod)
			secret := token
			if setting == "token_file" {
				secret = rotated
				if err := os.WriteFile(file, []byte(rotated+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.Traces(context.Background(), sources.TraceQuery{ID: paymentsID})
			var se *StatusError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, "<redacted>") {
				t.Fatalf("%s, %s: want a redacted StatusError: %v", name, setting, err)
			}
			for _, form := range []string{secret, url.QueryEscape(secret), url.QueryEscape("Bearer " + secret),
				base64.StdEncoding.EncodeToString([]byte("Bearer " + secret))} {
				if strings.Contains(err.Error(), form) {
					t.Errorf("%s, %s: error holds %q: %v", name, setting, form, err)
				}
			}
		}
	}
}

// A redirect to the same host name on another port keeps Authorization
// in the HTTP client; the Guard drops it off the configured origin.
func TestTokenStaysOnTheConfiguredOrigin(t *testing.T) {
	var mu sync.Mutex
	var otherGot []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherGot = append(otherGot, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	configured := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer origin-only" {
			t.Errorf("the configured server received %q", r.Header.Get("Authorization"))
		}
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect) // same 127.0.0.1, another port
	}))
	defer configured.Close()
	s := newSource(t, configured.URL, func(c *Config) { c.BearerToken, c.API = "origin-only", APIV1 })
	if err := s.CheckHealth(context.Background()); err == nil {
		t.Fatal("want the other server's 401")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(otherGot) == 0 {
		t.Fatal("the redirect was not followed: the test proves nothing")
	}
	for _, h := range otherGot {
		if h != "" {
			t.Errorf("the other port received %q", h)
		}
	}
}
