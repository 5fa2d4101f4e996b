package influxdb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// secretSource is a source with one token setting against url.
func secretSource(t *testing.T, url string, mod func(*Config)) *Source {
	t.Helper()
	cfg := Config{URL: url, Org: "perch", Bucket: "metrics", Cluster: "demo", Timeout: 2 * time.Second}
	mod(&cfg)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Error pages that echo the Authorization header (verbatim, base64, URL-
// escaped; in a 401 page or InfluxDB's JSON message) and a redirect loop
// that puts it in the URL reach errors redacted, for a token and for a
// token file's rotated token.
func TestRedactsEchoedToken(t *testing.T) {
	echo := func(r *http.Request) string {
		auth := r.Header.Get("Authorization")
		return fmt.Sprintf("got %s (base64 %s, escaped %s)", auth, base64.StdEncoding.EncodeToString([]byte(auth)), url.QueryEscape(auth))
	}
	answers := map[string]http.HandlerFunc{
		"401 page": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, echo(r))
		},
		"500 JSON": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"code": "internal error", "message": echo(r)})
		},
		"redirect loop": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", r.URL.Path+"?leak="+url.QueryEscape(r.Header.Get("Authorization")))
			w.WriteHeader(http.StatusTemporaryRedirect)
		},
	}
	const token, rotated = "influx-tok=en+/1==", "rotated-influx-token=="
	file := filepath.Join(t.TempDir(), "token")
	for name, answer := range answers {
		srv := httptest.NewServer(answer)
		defer srv.Close()
		for setting, mod := range map[string]func(*Config){
			"token":      func(c *Config) { c.Token = token },
			"token_file": func(c *Config) { c.TokenFile = file },
		} {
			if err := os.WriteFile(file, []byte("first-influx-token\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			src := secretSource(t, srv.URL, mod)
			secret := token
			if setting == "token_file" {
				secret = rotated
				if err := os.WriteFile(file, []byte(rotated+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			u := src.Poll(context.Background())
			if u.Err == nil {
				t.Fatalf("%s, %s: no error", name, setting)
			}
			msg := u.Err.Error()
			if name != "redirect loop" && !strings.Contains(msg, "<redacted>") {
				t.Errorf("%s, %s: the echo was not redacted (or not quoted): %s", name, setting, msg)
			}
			for _, form := range []string{secret, url.QueryEscape(secret), url.QueryEscape("Token " + secret),
				base64.StdEncoding.EncodeToString([]byte("Token " + secret))} {
				if strings.Contains(msg, form) {
					t.Errorf("%s, %s: error holds %q: %s", name, setting, form, msg)
				}
			}
			if err := src.CheckHealth(context.Background()); err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("%s, %s: health error holds the token: %v", name, setting, err)
			}
		}
	}
}

// A redirect to another host does not get the token; the configured host
// does, also after a redirect to itself.
func TestTokenGoesToTheConfiguredHostOnly(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(who string, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got[who] = append(got[who], r.Header.Get("Authorization"))
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("other", r)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	configured := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("configured", r)
		if r.URL.Query().Get("hop") == "" {
			http.Redirect(w, r, r.URL.Path+"?hop=1", http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer configured.Close()
	src := secretSource(t, configured.URL, func(c *Config) { c.Token = "configured-host-only" })
	if u := src.Poll(context.Background()); u.Err == nil {
		t.Fatal("no error from the other host's 401")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got["other"]) == 0 {
		t.Fatal("the redirect to the other host was not followed: the test proves nothing")
	}
	for _, h := range got["other"] {
		if h != "" {
			t.Errorf("the other host received %q", h)
		}
	}
	for _, h := range got["configured"] {
		if h != "Token configured-host-only" {
			t.Errorf("the configured host received %q", h)
		}
	}
}
