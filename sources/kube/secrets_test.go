package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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

	"github.com/perch-dev/perch/sources"
)

// hostileAPI is an API server (TLS: client-go sends credentials over TLS
// only) that answers every request with answer and records the
// Authorization headers it got.
type hostileAPI struct {
	srv  *httptest.Server
	mu   sync.Mutex
	auth []string
}

func newHostileAPI(t *testing.T, answer http.HandlerFunc) *hostileAPI {
	h := &hostileAPI{}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.auth = append(h.auth, r.Header.Get("Authorization"))
		h.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hostileAPI) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auth...)
}

// kubeconfigFor writes a kubeconfig for server with one context per user
// entry (name → the user's YAML flow mapping).
func kubeconfigFor(t *testing.T, srv *httptest.Server, users map[string]string) string {
	t.Helper()
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: %q, certificate-authority-data: %q}\ncontexts:\n", srv.URL, ca)
	for name := range users {
		fmt.Fprintf(&b, "- name: %s\n  context: {cluster: c, user: %s, namespace: default}\n", name, name)
	}
	b.WriteString("users:\n")
	for name, user := range users {
		fmt.Fprintf(&b, "- name: %s\n  user: %s\n", name, user)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// firstError runs the source until an update carries an error.
func firstError(t *testing.T, src *Source) sources.Update {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	out := make(chan sources.Update, 16)
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, out) }()
	t.Cleanup(func() { cancel(); <-done })
	for {
		select {
		case u := <-out:
			if u.Err != nil {
				return u
			}
		case <-ctx.Done():
			t.Fatal("no error within 20s")
		}
	}
}

// echoForms is what the hostile server quotes of an Authorization header.
func echoForms(auth string) string {
	_, cred, _ := strings.Cut(auth, " ")
	return fmt.Sprintf("Authorization: %s\nbase64: %s\ncredential base64: %s\nescaped: %s\n", auth,
		base64.StdEncoding.EncodeToString([]byte(auth)), base64.StdEncoding.EncodeToString([]byte(cred)), url.QueryEscape(auth))
}

// A 401 page and a Status message quoting the credentials (token, a token
// file's rotated token, basic auth, an exec plugin's token) reach
// Update.Err, CheckHealth and Status redacted.
func TestRedactsEchoedCredentials(t *testing.T) {
	answers := map[string]http.HandlerFunc{
		"401 page": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, echoForms(r.Header.Get("Authorization")))
		},
		"500 Status": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
				"message": echoForms(r.Header.Get("Authorization")), "reason": "InternalError", "code": 500})
		},
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	basic := base64.StdEncoding.EncodeToString([]byte("kube-admin:kube/pa+ss=word"))
	users := map[string]string{
		"token":     `{token: "kube-token-0123456789"}`,
		"tokenfile": fmt.Sprintf(`{tokenFile: %q}`, tokenFile),
		"basic":     `{username: kube-admin, password: "kube/pa+ss=word"}`,
		"exec": `{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: /bin/sh, args: ["-c", ` +
			`"printf '%s' '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-plugin-token-42\"}}'"]}}`,
	}
	secrets := map[string][]string{
		"token":     {"kube-token-0123456789", "Bearer kube-token-0123456789"},
		"tokenfile": {"rotated-kube-token-2", "Bearer rotated-kube-token-2"},
		"basic":     {"kube/pa+ss=word", basic, "Basic " + basic},
		"exec":      {"exec-plugin-token-42", "Bearer exec-plugin-token-42"},
	}
	for name, answer := range answers {
		api := newHostileAPI(t, answer)
		kc := kubeconfigFor(t, api.srv, users)
		for user, values := range secrets {
			t.Run(name+"/"+user, func(t *testing.T) {
				if err := os.WriteFile(tokenFile, []byte("first-kube-token-1\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				src, err := New(Config{Kubeconfig: kc, Context: user, Refresh: 200 * time.Millisecond, Timeout: 2 * time.Second, Metrics: MetricsOff})
				if err != nil {
					t.Fatal(err)
				}
				if user == "tokenfile" {
					// Rotated after the source read it; client-go re-reads it
					// within a minute, the redactor at once.
					if err := os.WriteFile(tokenFile, []byte("rotated-kube-token-2\n"), 0o600); err != nil {
						t.Fatal(err)
					}
					values = append(values, "first-kube-token-1")
				}
				u := firstError(t, src)
				texts := map[string]string{"Update.Err": u.Err.Error()}
				if err := src.CheckHealth(context.Background()); err != nil {
					texts["CheckHealth"] = err.Error()
				}
				for _, st := range src.Status() {
					texts["Status"] += strings.Join(st.Problems, "\n")
				}
				if user == "tokenfile" {
					texts["rotated echo"] = src.secrets.redactor().String(echoForms("Bearer rotated-kube-token-2"))
				}
				for where, text := range texts {
					for _, v := range values {
						for _, form := range []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v))} {
							if strings.Contains(text, form) {
								t.Errorf("%s holds %q: %s", where, form, text)
							}
						}
					}
				}
				if !strings.Contains(texts["Update.Err"], "<redacted>") {
					t.Errorf("the echo was not redacted (or not quoted): %s", texts["Update.Err"])
				}
			})
		}
	}
}

// A redirect to another host does not get the credentials client-go adds
// to every request; the API server does.
func TestCredentialsStayOnTheAPIServer(t *testing.T) {
	var mu sync.Mutex
	var otherGot []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherGot = append(otherGot, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	api := newHostileAPI(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
	kc := kubeconfigFor(t, api.srv, map[string]string{
		"token": `{token: "api-server-only-token"}`,
		"basic": `{username: u, password: "api-server-only-pass"}`,
	})
	for _, user := range []string{"token", "basic"} {
		src, err := New(Config{Kubeconfig: kc, Context: user, Refresh: 200 * time.Millisecond, Timeout: 2 * time.Second, Metrics: MetricsOff})
		if err != nil {
			t.Fatal(err)
		}
		firstError(t, src)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(otherGot) == 0 {
		t.Fatal("the redirect was not followed: the test proves nothing")
	}
	for _, h := range otherGot {
		if h != "" {
			t.Errorf("the other host received %q", h)
		}
	}
	sentToken, sentBasic := false, false
	for _, h := range api.received() {
		sentToken = sentToken || h == "Bearer api-server-only-token"
		sentBasic = sentBasic || strings.HasPrefix(h, "Basic ")
	}
	if !sentToken || !sentBasic {
		t.Errorf("the API server did not get the credentials: token %v, basic %v", sentToken, sentBasic)
	}
}
