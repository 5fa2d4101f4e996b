package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

// This file proves that credentials never show up where a person (or a
// log collector) could read them: errors, the store's health, snapshots in
// every format, the serve log and its SSH snapshot, a rendered dashboard
// frame, config errors, and requests to hosts other than the configured
// one. Every source type that takes a secret is configured with its own
// distinctive secret and pointed at servers that fail in the nastiest
// ways: error pages echoing the request (headers and URL), JSON errors in
// the backend's own format quoting the Authorization header, redirects to
// URLs carrying the token (in a loop, and to another host), and 200
// answers that are not what the source expects but quote the request.
// Every output is searched for each secret and its encoded forms (URL
// escaping, Go/JSON quoting, base64 of the secret and of the whole
// Authorization header, basic auth's user:password).

// secret is one credential the config holds.
type secret struct {
	owner string // the package that handles it
	what  string
	value string
	forms []string // what must not appear: the value and its encodings
}

// newSecret lists value's forms; header is the Authorization header it
// travels in ("Bearer " + value…), "" when it is not sent as one.
func newSecret(owner, what, value string, headers ...string) secret {
	s := secret{owner: owner, what: what, value: value}
	add := func(f string) {
		if len(f) >= 8 && !containsString(s.forms, f) {
			s.forms = append(s.forms, f)
		}
	}
	jsonInner := func(v string) string {
		b, _ := json.Marshal(v)
		return string(b[1 : len(b)-1])
	}
	for _, v := range append([]string{value}, headers...) {
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		q := strconv.Quote(v)
		add(q[1 : len(q)-1])
		add(jsonInner(v))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(v)))
		}
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func basicValue(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// The secrets, one per setting that holds one. Some carry characters that
// change under URL escaping or quoting.
const (
	promToken     = "pt7Q3x-perchSecret-prom-token"
	promAPIKey    = "pk2Lw9-perchSecret-prom-apikey"
	promUser      = "perch-admin"
	promPassword  = "pp/perchSecret+prom=pass&w0rd"
	promURLPass   = "pu/perchSecret+prom=url&pass"
	promFileToken = "pf8Hd1-perchSecret-prom-file"
	influxToken   = "it5Vb2-perchSecret-influx-token=="
	influxFile    = "if1Zq8-perchSecret-influx-file"
	jaegerToken   = "jt3Mn6-perchSecret-jaeger-token"
	jaegerFile    = "jf9Kp4-perchSecret-jaeger-file"
	kubeToken     = "kt4Rs7-perchSecret-kube-token"
	kubeFileToken = "kf6Tg2-perchSecret-kube-file"
	kubeUser      = "kube-admin"
	kubePassword  = "kp/perchSecret+kube=pass&w0rd"
	scrapeFile    = "sf2Yc5-perchSecret-scrape-file"
	scrapeUser    = "scraper"
	scrapeURLPass = "su/perchSecret+scrape=url&pass"
)

func allSecrets() []secret {
	return []secret{
		newSecret("sources/prometheus", "prometheus bearer_token", promToken, "Bearer "+promToken),
		newSecret("sources/prometheus", "prometheus headers.X-Api-Key", promAPIKey),
		newSecret("sources/prometheus", "prometheus password", promPassword, basicValue(promUser, promPassword), "Basic "+basicValue(promUser, promPassword)),
		newSecret("sources/prometheus", "prometheus url password", promURLPass, basicValue(promUser, promURLPass), "Basic "+basicValue(promUser, promURLPass)),
		newSecret("sources/prometheus", "prometheus bearer_token_file", promFileToken, "Bearer "+promFileToken),
		newSecret("sources/influxdb", "influxdb token", influxToken, "Token "+influxToken),
		newSecret("sources/influxdb", "influxdb token_file", influxFile, "Token "+influxFile),
		newSecret("sources/jaeger", "jaeger bearer_token", jaegerToken, "Bearer "+jaegerToken),
		newSecret("sources/jaeger", "jaeger token_file", jaegerFile, "Bearer "+jaegerFile),
		newSecret("sources/kube", "kubeconfig token", kubeToken, "Bearer "+kubeToken),
		newSecret("sources/kube", "kubeconfig tokenFile", kubeFileToken, "Bearer "+kubeFileToken),
		newSecret("sources/kube", "kubeconfig password", kubePassword, basicValue(kubeUser, kubePassword), "Basic "+basicValue(kubeUser, kubePassword)),
		newSecret("sources/scrape", "scrape bearer_token_file", scrapeFile, "Bearer "+scrapeFile),
		newSecret("sources/scrape", "scrape target url password", scrapeURLPass, basicValue(scrapeUser, scrapeURLPass), "Basic "+basicValue(scrapeUser, scrapeURLPass)),
	}
}

// leak is one secret found in one output.
type leak struct {
	mode, output, secret, owner, form string
	excerpt                           string // the text around it
}

func (l leak) key() string { return l.mode + " | " + l.output + " | " + l.secret }

// finding is what knownLeaks lists: one secret of one owner leaking under
// one mode, whatever the outputs (they all show the same error).
func (l leak) finding() string {
	if l.output == outputOffsite {
		return l.owner + " | " + l.secret + " | " + l.mode + ": credentials sent there"
	}
	return l.owner + " | " + l.secret + " | " + l.mode
}

// outputOffsite is what another host received after a redirect.
const outputOffsite = "requests received by another host"

// excerpt is up to n bytes of text on each side of the first form found.
func excerpt(text, form string, n int) string {
	i := strings.Index(text, form)
	start, end := max(i-n, 0), min(i+len(form)+n, len(text))
	return strings.Join(strings.Fields(text[start:end]), " ")
}

// leakFinder collects leaks from every output of one run.
type leakFinder struct {
	mu      sync.Mutex
	secrets []secret
	leaks   map[string]leak
	checked map[string]int  // output → texts checked
	ran     map[string]bool // modes run
}

func newLeakFinder() *leakFinder {
	return &leakFinder{secrets: allSecrets(), leaks: map[string]leak{}, checked: map[string]int{}, ran: map[string]bool{}}
}

// ranModeOf reports whether the mode a finding names ran (-run may pick
// some modes only).
func (f *leakFinder) ranModeOf(finding string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for mode := range f.ran {
		if strings.Contains(finding, "| "+mode) {
			return true
		}
	}
	return false
}

func (f *leakFinder) check(mode, output, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked[output]++
	for _, s := range f.secrets {
		for _, form := range s.forms {
			if strings.Contains(text, form) {
				l := leak{mode: mode, output: output, secret: s.what, owner: s.owner, form: form, excerpt: excerpt(text, form, 80)}
				if _, seen := f.leaks[l.key()]; !seen {
					f.leaks[l.key()] = l
				}
				break
			}
		}
	}
}

// checkErr checks an error's text, its %+v form and every error it
// wraps (a caller may print an inner error it extracted with errors.As).
func (f *leakFinder) checkErr(mode, output string, err error) {
	if err == nil {
		return
	}
	f.check(mode, output, err.Error())
	f.check(mode, output, fmt.Sprintf("%+v", err))
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if e == nil || depth > 20 {
			return
		}
		f.check(mode, output+" (wrapped error)", e.Error())
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner, depth+1)
			}
		}
	}
	walk(err, 0)
}

// hostile is a backend that fails in one nasty way, in its flavour's own
// error format. Offsite is another host (localhost vs 127.0.0.1) that
// records what it receives.
type hostile struct {
	srv     *httptest.Server
	flavor  string // prometheus, influxdb, jaeger, kube, scrape
	mode    string
	offsite *offsite
	mu      sync.Mutex
	seen    []string
}

// The failure modes.
const (
	modeEcho401   = "401 echoing the request"
	modeQuote500  = "500 quoting Authorization"
	modeRedirect  = "redirect loop with the token in the URL"
	modeOffsite   = "redirect to another host"
	modeGarbage   = "200 garbage quoting the request"
	modeBadConfig = "config errors"
)

func newHostile(t *testing.T, flavor, mode string, off *offsite) *hostile {
	h := &hostile{flavor: flavor, mode: mode, offsite: off}
	if flavor == "kube" {
		// client-go sends credentials over TLS only.
		h.srv = httptest.NewTLSServer(h)
	} else {
		h.srv = httptest.NewServer(h)
	}
	t.Cleanup(h.srv.Close)
	return h
}

// record keeps what the server received, to prove the sources sent
// their credentials (a secret never sent cannot leak).
func (h *hostile) record(r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) < 200 {
		h.seen = append(h.seen, requestDump(r))
	}
}

func (h *hostile) received() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.seen, "\n")
}

// requestDump is the request as an echoing gateway prints it: the
// credentials first (short excerpts still carry them), base64 too.
func requestDump(r *http.Request) string {
	var b strings.Builder
	auth := r.Header.Get("Authorization")
	fmt.Fprintf(&b, "Authorization: %s\n", auth)
	fmt.Fprintf(&b, "X-Echo-Authorization-Base64: %s\n", base64.StdEncoding.EncodeToString([]byte(auth)))
	_, cred, _ := strings.Cut(auth, " ")
	fmt.Fprintf(&b, "X-Echo-Credential-Base64: %s\n", base64.StdEncoding.EncodeToString([]byte(cred)))
	fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.URL.RequestURI(), r.Proto)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

// quoted is what a server says when it quotes the credentials it got.
func quoted(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	return fmt.Sprintf("upstream rejected Authorization: %s (base64 %s), X-Api-Key %s, url %s",
		auth, base64.StdEncoding.EncodeToString([]byte(auth)), r.Header.Get("X-Api-Key"), r.URL.RequestURI())
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.record(r)
	if h.flavor == "prometheus" && h.answersRows(w, r) {
		return
	}
	switch h.mode {
	case modeEcho401:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, requestDump(r))
	case modeQuote500:
		h.quote500(w, r)
	case modeRedirect:
		// Back to the same path with the credentials in the query, forever.
		auth := r.Header.Get("Authorization")
		q := url.Values{"leak": {auth}, "b64": {base64.StdEncoding.EncodeToString([]byte(auth))}, "key": {r.Header.Get("X-Api-Key")}}
		http.Redirect(w, r, r.URL.Path+"?"+q.Encode(), http.StatusFound)
	case modeOffsite:
		target := h.offsite.url + r.URL.Path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	case modeGarbage:
		ct := "application/json"
		if h.flavor == "influxdb" {
			ct = "text/csv; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		fmt.Fprintf(w, "<html><body>Session expired.\n%s</body></html>", requestDump(r))
	}
}

// answersRows makes one Prometheus query succeed (the kubernetes preset's
// replicas), so snapshots have rows while the other queries fail.
func (h *hostile) answersRows(w http.ResponseWriter, r *http.Request) bool {
	_ = r.ParseForm()
	if !strings.Contains(r.Form.Get("query"), "kube_deployment_spec_replicas") {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"shop","workload":"checkout","workload_kind":"Deployment","perch_metric":"replicas_desired"},"value":[1700000000,"3"]}]}}`)
	return true
}

// quote500 answers 500 in the flavour's own error format, so the source
// shows the message as the server's.
func (h *hostile) quote500(w http.ResponseWriter, r *http.Request) {
	msg := quoted(r)
	var body any
	ct := "application/json"
	switch h.flavor {
	case "prometheus":
		body = map[string]string{"status": "error", "errorType": "internal", "error": msg}
	case "influxdb":
		body = map[string]string{"code": "internal error", "message": msg}
	case "jaeger":
		body = map[string]any{"errors": []map[string]any{{"code": 500, "msg": msg}}}
	case "kube":
		body = map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": msg, "reason": "InternalError", "code": 500}
	default:
		ct = "text/plain; charset=utf-8"
		body = msg
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusInternalServerError)
	if s, ok := body.(string); ok {
		fmt.Fprint(w, s)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// offsite is another host: it records the credentials it receives and
// echoes the request like the 401 page.
type offsite struct {
	srv  *httptest.Server
	url  string // http://localhost:PORT, a different host name than 127.0.0.1
	mu   sync.Mutex
	seen []string
}

func newOffsite(t *testing.T) *offsite {
	o := &offsite{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, requestDump(r))
		o.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, requestDump(r))
	}))
	t.Cleanup(o.srv.Close)
	o.url = strings.Replace(o.srv.URL, "127.0.0.1", "localhost", 1)
	return o
}

func (o *offsite) received() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.seen, "\n")
}

// secretFixture is one mode's servers, credential files and configs.
type secretFixture struct {
	mode     string
	dir      string
	servers  map[string]*hostile
	offsite  *offsite
	getenv   func(string) string
	withRows string // config: Prometheus answers one query, so snapshots have rows
	failing  string // config: every source fails
}

func newSecretFixture(t *testing.T, mode string) *secretFixture {
	fx := &secretFixture{mode: mode, dir: t.TempDir(), servers: map[string]*hostile{}, offsite: newOffsite(t)}
	for _, flavor := range []string{"prometheus", "influxdb", "jaeger", "kube", "scrape"} {
		fx.servers[flavor] = newHostile(t, flavor, mode, fx.offsite)
	}
	write := func(name, content string) string {
		p := filepath.Join(fx.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	promFile := write("prom.token", promFileToken+"\n")
	influxTokenFile := write("influx.token", influxFile+"\n")
	jaegerTokenFile := write("jaeger.token", jaegerFile+"\n")
	kubeTokenFile := write("kube.token", kubeFileToken+"\n")
	scrapeTokenFile := write("scrape.token", scrapeFile+"\n")
	kubeconfig := write("kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: hostile
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: token
  context: {cluster: hostile, user: token-user, namespace: default}
- name: tokenfile
  context: {cluster: hostile, user: tokenfile-user, namespace: default}
- name: basic
  context: {cluster: hostile, user: basic-user, namespace: default}
current-context: token
users:
- name: token-user
  user: {token: %q}
- name: tokenfile-user
  user: {tokenFile: %q}
- name: basic-user
  user: {username: %q, password: %q}
`, fx.servers["kube"].srv.URL, base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fx.servers["kube"].srv.Certificate().Raw})), kubeToken, kubeTokenFile, kubeUser, kubePassword))

	prom := fx.servers["prometheus"].srv.URL
	promURL, _ := url.Parse(prom)
	promURL.User = url.UserPassword(promUser, promURLPass)
	scrapeURL, _ := url.Parse(fx.servers["scrape"].srv.URL + "/metrics")
	scrapeURL.User = url.UserPassword(scrapeUser, scrapeURLPass)
	config := func(promPresets string) string {
		return fmt.Sprintf(`refresh: 1s
sources:
  - type: prometheus
    name: prom-token
    url: %[1]q
    bearer_token: %[2]q
    headers: {X-Api-Key: %[3]q}
    presets: %[4]s
    timeout: 2s
  - type: prometheus
    name: prom-basic
    url: %[1]q
    username: %[5]q
    password: %[6]q
    presets: %[4]s
    timeout: 2s
  - type: prometheus
    name: prom-url
    url: %[7]q
    presets: %[4]s
    timeout: 2s
  - type: prometheus
    name: prom-file
    url: %[1]q
    bearer_token_file: %[8]q
    presets: %[4]s
    timeout: 2s
  - type: influxdb
    name: influx
    url: %[9]q
    org: perch
    bucket: metrics
    token: %[10]q
    timeout: 2s
  - type: influxdb
    name: influx-file
    url: %[9]q
    org: perch
    bucket: metrics
    token_file: %[11]q
    timeout: 2s
  - type: jaeger
    name: jaeger
    url: %[12]q
    bearer_token: %[13]q
    list_services: true
    timeout: 2s
  - type: jaeger
    name: jaeger-file
    url: %[12]q
    token_file: %[14]q
    timeout: 2s
  - type: kubernetes
    name: kube
    kubeconfig: %[15]q
    context: token
    timeout: 2s
  - type: kubernetes
    name: kube-file
    kubeconfig: %[15]q
    context: tokenfile
    timeout: 2s
  - type: kubernetes
    name: kube-basic
    kubeconfig: %[15]q
    context: basic
    timeout: 2s
  - type: scrape
    name: scrape
    targets: [%[16]q]
    bearer_token_file: %[17]q
    timeout: 2s
  - type: scrape
    name: scrape-url
    targets: [%[18]q]
    timeout: 2s
`, prom, promToken, promAPIKey, promPresets, promUser, promPassword, promURL.String(), promFile,
			fx.servers["influxdb"].srv.URL, influxToken, influxTokenFile,
			fx.servers["jaeger"].srv.URL, jaegerToken, jaegerTokenFile,
			kubeconfig, fx.servers["scrape"].srv.URL+"/metrics", scrapeTokenFile, scrapeURL.String())
	}
	fx.withRows = write("with-rows.yaml", config("[kubernetes]"))
	fx.failing = write("failing.yaml", config("[lambda]"))
	home := filepath.Join(fx.dir, "home")
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
	fx.getenv = func(k string) string { return vars[k] }
	return fx
}

// TestSecretsNeverLeak runs every mode through every output and fails on
// a leak that knownLeaks does not list. Known leaks are logged (they are
// findings reported to their packages' owners); one that no longer shows
// up is reported as "fixed?" so its entry can go.
func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every source against hostile servers: seconds")
	}
	modes := []string{modeEcho401, modeQuote500, modeRedirect, modeOffsite, modeGarbage}
	finder := newLeakFinder()
	t.Run("modes", func(t *testing.T) {
		for _, mode := range modes {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				runSecretMode(t, finder, mode)
			})
		}
	})
	t.Run(modeBadConfig, func(t *testing.T) { checkConfigErrors(t, finder) })

	// Group by finding: one root cause shows in many outputs.
	byFinding := map[string][]leak{}
	for _, l := range finder.leaks {
		byFinding[l.finding()] = append(byFinding[l.finding()], l)
	}
	findings := make([]string, 0, len(byFinding))
	for f := range byFinding {
		findings = append(findings, f)
	}
	sort.Strings(findings)
	var unexpected []string
	for _, f := range findings {
		ls := byFinding[f]
		sort.Slice(ls, func(i, j int) bool { return ls[i].output < ls[j].output })
		var outputs []string
		for _, l := range ls {
			outputs = append(outputs, l.output)
		}
		report := fmt.Sprintf("%s\n    in: %s\n    e.g. %q", f, strings.Join(outputs, "; "), ls[0].excerpt)
		if note, ok := knownLeaks[f]; ok {
			t.Logf("known leak (%s): %s", note, report)
			continue
		}
		unexpected = append(unexpected, report)
	}
	for f := range knownLeaks {
		_, seen := byFinding[f]
		if !seen && finder.ranModeOf(f) {
			t.Logf("fixed? known leak no longer seen: %s", f)
		}
	}
	var outputs []string
	for o, n := range finder.checked {
		outputs = append(outputs, fmt.Sprintf("%s ×%d", o, n))
	}
	sort.Strings(outputs)
	t.Logf("checked %d secrets (%d forms) in: %s", len(finder.secrets), countForms(finder.secrets), strings.Join(outputs, ", "))
	if len(unexpected) > 0 {
		t.Errorf("%d secret leaks (owner | secret | mode):\n%s", len(unexpected), strings.Join(unexpected, "\n"))
	}
}

func countForms(ss []secret) int {
	n := 0
	for _, s := range ss {
		n += len(s.forms)
	}
	return n
}

// knownLeaks are leaks in packages this test does not own, reported to
// their owners: "owner | secret | mode" → the finding. Delete an entry
// when the test says "fixed?" for it.
var knownLeaks = map[string]string{}

// runSecretMode sends one mode through every output.
func runSecretMode(t *testing.T, finder *leakFinder, mode string) {
	finder.mu.Lock()
	finder.ran[mode] = true
	finder.mu.Unlock()
	fx := newSecretFixture(t, mode)
	ctx := context.Background()
	check := func(output, text string) { finder.check(mode, output, text) }
	start := time.Now()
	phase := func(name string) {
		t.Logf("%s: %s", name, time.Since(start).Round(10*time.Millisecond))
		start = time.Now()
	}
	defer phase("serve")

	// perch snapshot, every format, with rows (one Prometheus query works).
	for _, format := range []string{"table", "json", "markdown"} {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"snapshot", "--config", fx.withRows, "--format", format, "--timeout", "30s"}, &out, &errOut, fx.getenv)
		if code != exitOK || !strings.Contains(out.String(), "checkout") {
			t.Errorf("snapshot --format %s with rows: exit %d, stdout %.300q, stderr %.300q", format, code, out.String(), errOut.String())
		}
		check("snapshot "+format+" stdout", out.String())
		check("snapshot "+format+" stderr", errOut.String())
	}
	// perch snapshot when every source fails: the errors go to stderr.
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"snapshot", "--config", fx.failing, "--timeout", "30s"}, &out, &errOut, fx.getenv); code != exitError || errOut.Len() == 0 {
		t.Errorf("snapshot with every source failing: exit %d, stderr %.300q", code, errOut.String())
	}
	check("snapshot stdout (all failing)", out.String())
	check("snapshot stderr (all failing)", errOut.String())
	phase("snapshots")

	// The store, the dashboard frame and the sources' own calls.
	checkStoreAndFrames(t, finder, fx)
	phase("store, frames and capabilities")

	// perch serve: its log and a snapshot over SSH.
	checkServe(t, finder, fx)

	// Nothing that identifies perch to the backend may go to another host.
	check(outputOffsite, fx.offsite.received())

	// Every secret reached its server: the test proved something.
	var received strings.Builder
	for _, h := range fx.servers {
		received.WriteString(h.received())
	}
	for _, s := range finder.secrets {
		sent := false
		for _, form := range s.forms {
			sent = sent || strings.Contains(received.String(), form)
		}
		if !sent {
			t.Errorf("%s: the %s never reached its server: the test cannot see it leak", mode, s.what)
		}
	}
}

// checkStoreAndFrames builds the sources as the CLI does, feeds each into
// its own store until it has failed, then checks the health error, the
// frame perch render draws (the whole header and the empty-table notice
// hold the error), and every error the source's capabilities return.
func checkStoreAndFrames(t *testing.T, finder *leakFinder, fx *secretFixture) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flags := commonFlags{configPath: fx.failing}
	cfg, err := loadConfig(flags, fx.getenv)
	if err != nil {
		t.Fatal(err)
	}
	srcs, _, err := pickSources(flags, cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checkOneSource(ctx, t, finder, fx, src)
		}()
	}
	wg.Wait()
}

func checkOneSource(ctx context.Context, t *testing.T, finder *leakFinder, fx *secretFixture, src sources.Source) {
	mode := fx.mode
	ctx, cancel := context.WithCancel(ctx)
	st := store.New()
	done := make(chan struct{})
	go func() { defer close(done); st.Feed(ctx, src) }()
	defer func() { cancel(); <-done }()

	failed := func() bool {
		for _, h := range st.Health() {
			if h.Err != nil {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for !failed() {
		if time.Now().After(deadline) {
			t.Errorf("%s: %s never reported an error", mode, src.Name())
			return
		}
		select {
		case <-st.Changed():
		case <-time.After(100 * time.Millisecond):
		}
	}
	// One more round, so retries with their own wording are seen too.
	time.Sleep(1500 * time.Millisecond)
	for _, h := range st.Health() {
		finder.checkErr(mode, "store health error", h.Err)
		finder.checkErr(mode, "store health partial", h.Partial)
	}
	now := time.Now()
	req := renderRequest{view: "overview", width: 1000, height: 40, theme: "dark", profile: colorprofile.NoTTY, timeout: 5 * time.Second, at: now}
	frame, err := renderFrame(ctx, req, []sources.Source{src}, st, "", fx.getenv)
	if err != nil {
		t.Errorf("%s: render: %v", src.Name(), err)
	}
	plain := ansi.Strip(frame)
	if !strings.Contains(plain, src.Name()+" down") {
		t.Errorf("%s: the frame does not show the source down:\n%.400s", src.Name(), plain)
	}
	finder.check(mode, "rendered frame (perch render path)", plain)
	req.width = 120
	frame, _ = renderFrame(ctx, req, []sources.Source{src}, st, "", fx.getenv)
	finder.check(mode, "rendered frame (perch render path)", ansi.Strip(frame))

	// What the detail, pods and traces pages would show.
	id := sources.WorkloadID{Cluster: "demo", Namespace: "shop", Name: "checkout"}
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	if hc, ok := src.(sources.HealthChecker); ok {
		finder.checkErr(mode, "CheckHealth error", hc.CheckHealth(cctx))
	}
	if rq, ok := src.(sources.RangeQuerier); ok {
		_, err := rq.Range(cctx, sources.RangeQuery{ID: id, Metric: sources.LatencyP95, Start: now.Add(-time.Hour), End: now, Step: time.Minute})
		finder.checkErr(mode, "Range error (detail page)", err)
	}
	if pl, ok := src.(sources.PodLister); ok {
		_, err := pl.Pods(cctx, id)
		finder.checkErr(mode, "Pods error (pods page)", err)
	}
	if tf, ok := src.(sources.TraceFinder); ok {
		_, err := tf.Traces(cctx, sources.TraceQuery{ID: id, Start: now.Add(-time.Hour), End: now, Limit: 20})
		finder.checkErr(mode, "Traces error (traces page)", err)
		if one, ok := src.(interface {
			Trace(context.Context, string) (sources.Trace, error)
		}); ok {
			_, err = one.Trace(cctx, "4bf92f3577b34da6a3ce929d0e0e4736")
			finder.checkErr(mode, "Trace error (waterfall)", err)
		}
	}
}

// checkServe runs perch serve on the failing config, takes a snapshot over
// SSH (which prints the sources' errors) and checks the log and both
// streams of the session.
func checkServe(t *testing.T, finder *leakFinder, fx *secretFixture) {
	viewer := newViewerKey(t)
	keys := filepath.Join(fx.dir, "authorized_keys")
	if err := os.WriteFile(keys, gossh.MarshalAuthorizedKey(viewer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, env{stdout: &logOut, stderr: &logOut, getenv: fx.getenv}, []string{"--config", fx.failing,
			"--ssh", "127.0.0.1:0", "--host-key", filepath.Join(fx.dir, "host_key"), "--authorized-keys", keys})
	}()
	port := regexp.MustCompile(`ssh -p (\d+) HOST`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; m = port.FindStringSubmatch(logOut.String()) {
		if time.Now().After(deadline) {
			t.Errorf("%s: serve did not start:\n%s", fx.mode, logOut.String())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	client, err := gossh.Dial("tcp", "127.0.0.1:"+m[1], &gossh.ClientConfig{
		User: "oncall", Auth: []gossh.AuthMethod{gossh.PublicKeys(viewer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, format := range []string{"table", "json"} {
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var sout, serr bytes.Buffer
		sess.Stdout, sess.Stderr = &sout, &serr
		runErr := sess.Run("snapshot --format " + format)
		sess.Close()
		if runErr == nil || serr.Len() == 0 {
			t.Errorf("%s: ssh snapshot with failing sources: %v, stderr %.200q", fx.mode, runErr, serr.String())
		}
		finder.check(fx.mode, "serve: ssh snapshot stdout", sout.String())
		finder.check(fx.mode, "serve: ssh snapshot stderr", serr.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: serve: %v", fx.mode, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s: serve did not stop", fx.mode)
	}
	finder.check(fx.mode, "serve: log (stderr)", logOut.String())
}

// checkConfigErrors: configs that are wrong in ways that tempt a message
// to quote a value. Run through the dashboard command (which stops before
// the terminal) and snapshot.
func checkConfigErrors(t *testing.T, finder *leakFinder) {
	dir := t.TempDir()
	vars := map[string]string{"HOME": filepath.Join(dir, "home")}
	getenv := func(k string) string { return vars[k] }
	cases := map[string]string{
		"prometheus token and basic auth":     fmt.Sprintf("sources:\n  - type: prometheus\n    url: http://127.0.0.1:1\n    bearer_token: %q\n    password: %q\n", promToken, promPassword),
		"prometheus token and token file":     fmt.Sprintf("sources:\n  - type: prometheus\n    url: http://127.0.0.1:1\n    bearer_token: %q\n    bearer_token_file: /nonexistent/%s\n", promToken, promFileToken),
		"prometheus bad url with password":    fmt.Sprintf("sources:\n  - type: prometheus\n    url: %q\n", "ftp://"+promUser+":"+url.QueryEscape(promURLPass)+"@prometheus:9090"),
		"prometheus misspelt key":             fmt.Sprintf("sources:\n  - type: prometheus\n    url: http://127.0.0.1:1\n    bearer_tokn: %q\n", promToken),
		"prometheus token of the wrong type":  fmt.Sprintf("sources:\n  - type: prometheus\n    url: http://127.0.0.1:1\n    bearer_token: {value: %q}\n", promToken),
		"prometheus header of the wrong type": fmt.Sprintf("sources:\n  - type: prometheus\n    url: http://127.0.0.1:1\n    headers: [%q]\n", promAPIKey),
		"influxdb token and token file":       fmt.Sprintf("sources:\n  - type: influxdb\n    url: http://127.0.0.1:1\n    bucket: b\n    token: %q\n    token_file: /nonexistent/%s\n", influxToken, influxFile),
		"influxdb misspelt key":               fmt.Sprintf("sources:\n  - type: influxdb\n    url: http://127.0.0.1:1\n    bucket: b\n    tokn: %q\n", influxToken),
		"jaeger credentials in the url":       fmt.Sprintf("sources:\n  - type: jaeger\n    url: %q\n", "http://jaeger:"+url.QueryEscape(jaegerToken)+"@127.0.0.1:1"),
		"jaeger token and token file":         fmt.Sprintf("sources:\n  - type: jaeger\n    url: http://127.0.0.1:1\n    bearer_token: %q\n    token_file: /nonexistent/%s\n", jaegerToken, jaegerFile),
		"scrape bad target with password":     fmt.Sprintf("sources:\n  - type: scrape\n    targets: [%q]\n", "ftp://"+scrapeUser+":"+url.QueryEscape(scrapeURLPass)+"@node:9100/metrics"),
		"yaml syntax error on a secret line":  fmt.Sprintf("sources:\n  - type: prometheus\n    url: http://127.0.0.1:1\n    bearer_token: %s: [\n", promToken),
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		if err := os.WriteFile(path, []byte(cases[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"--config", path}, {"snapshot", "--config", path}} {
			var out, errOut bytes.Buffer
			code := run(context.Background(), cmd, &out, &errOut, getenv)
			if code != exitUsage {
				t.Errorf("%s: perch %s: exit %d, want %d (a config error); stderr %q", name, cmd[0], code, exitUsage, errOut.String())
			}
			finder.check(modeBadConfig, "config error (perch "+cmd[0]+" stderr)", errOut.String()+out.String())
		}
	}
	// A kubeconfig that does not parse is read when the source starts:
	// its error reaches the store's health.
	kc := filepath.Join(dir, "broken-kubeconfig")
	if err := os.WriteFile(kc, []byte(fmt.Sprintf("apiVersion: v1\nusers:\n- name: u\n  user:\n    token: %s\n    password: %s: [\n", kubeToken, kubePassword)), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kube-broken.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("sources:\n  - type: kubernetes\n    kubeconfig: %q\n    timeout: 2s\n", kc)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	run(context.Background(), []string{"snapshot", "--config", path, "--timeout", "20s"}, &out, &errOut, getenv)
	if errOut.Len() == 0 {
		t.Errorf("a broken kubeconfig gave no error")
	}
	finder.check(modeBadConfig, "broken kubeconfig (perch snapshot stderr)", errOut.String()+out.String())
}

// newViewerKey is a fresh SSH key for the viewer.
func newViewerKey(t *testing.T) gossh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}
