package scrape

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

// An error page that echoes the request (the token file's rotated token,
// the target's basic auth, a configured API key; verbatim and base64)
// reaches the round's error redacted.
func TestRedactsEchoedCredentials(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "%s %s %s", auth, base64.StdEncoding.EncodeToString([]byte(auth)), r.Header.Get("X-Api-Key"))
	}))
	defer echo.Close()
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("first-scrape-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withPass, _ := url.Parse(echo.URL + "/basic")
	withPass.User = url.UserPassword("scraper", "pa/ss+word=1")
	src, err := New(Config{Targets: []string{echo.URL + "/token", withPass.String()}, BearerTokenFile: tokFile,
		Headers: map[string]string{"X-Api-Key": "scrape-api-key-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokFile, []byte("rotated-scrape-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	if u.Err == nil || !strings.Contains(u.Err.Error(), "<redacted>") {
		t.Fatalf("the echo was not redacted (or not quoted): %v", u.Err)
	}
	msg := u.Err.Error()
	basic := base64.StdEncoding.EncodeToString([]byte("scraper:pa/ss+word=1"))
	for _, s := range []string{"rotated-scrape-token", base64.StdEncoding.EncodeToString([]byte("Bearer rotated-scrape-token")),
		basic, base64.StdEncoding.EncodeToString([]byte("Basic " + basic)), "scrape-api-key-1", "pa/ss+word=1"} {
		if strings.Contains(msg, s) {
			t.Errorf("error holds %q: %s", s, msg)
		}
	}
	if !strings.Contains(msg, "HTTP 401") {
		t.Errorf("the status is gone: %s", msg)
	}
}

// A redirect to another host gets neither the token nor the configured
// headers; the target itself gets both, also after a redirect to itself.
func TestCredentialsStayOnTheTarget(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(who string, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got[who] = append(got[who], r.Header.Get("Authorization")+"|"+r.Header.Get("X-Tenant"))
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("other", r)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("target", r)
		if r.URL.Path == "/metrics" {
			http.Redirect(w, r, "/moved", http.StatusFound)
			return
		}
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/metrics", http.StatusFound)
	}))
	defer target.Close()
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("target-only-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Targets: []string{target.URL + "/metrics"}, BearerTokenFile: tokFile, Headers: map[string]string{"X-Tenant": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if u := src.Poll(context.Background()); u.Err == nil || !strings.Contains(u.Err.Error(), "401") {
		t.Fatalf("want the other host's 401: %v", u.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got["other"]) != 1 || got["other"][0] != "|" {
		t.Errorf("the other host received %q", got["other"])
	}
	for _, h := range got["target"] {
		if h != "Bearer target-only-token|a" {
			t.Errorf("the target received %q", h)
		}
	}
}
