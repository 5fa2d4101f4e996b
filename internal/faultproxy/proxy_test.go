package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/leakcheck"
)

// payload is the backend's /json answer: 64 KiB of valid JSON.
var payload = func() []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := 0; b.Len() < 64<<10; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"i":%d,"name":"series-%d","value":%d.5}`, i, i, i*7)
	}
	b.WriteString("]")
	return b.Bytes()
}()

// backend is the real server behind the proxy:
//
//	/json     payload with Content-Length
//	/chunked  payload in two flushed halves (no Content-Length)
//	/stream   one line every 10 ms until the client goes away
//	/headers  the request headers it received, as JSON
func backend(t testing.TB, tls bool) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		_, _ = w.Write(payload)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload[:len(payload)/2])
		w.(http.Flusher).Flush()
		_, _ = w.Write(payload[len(payload)/2:])
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(r.Header)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // cut handshakes are the point
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func hostPort(t testing.TB, rawURL string) string {
	t.Helper()
	return strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://")
}

func startHTTP(t testing.TB) (*Proxy, *httptest.Server) {
	t.Helper()
	be := backend(t, false)
	p, err := Start(context.Background(), hostPort(t, be.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, be
}

// client is a fresh client (own connection pool) with a total timeout.
func client(t testing.TB, timeout time.Duration) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: timeout, Transport: tr}
}

func set(t testing.TB, p *Proxy, m Mode) {
	t.Helper()
	if err := p.Set(m); err != nil {
		t.Fatal(err)
	}
}

// outcome is what a client saw for one request.
type outcome struct {
	status  int
	body    []byte
	err     error // from Do
	bodyErr error // from reading the body
	elapsed time.Duration
}

func get(c *http.Client, url string) outcome {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return outcome{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return outcome{status: resp.StatusCode, body: body, bodyErr: err, elapsed: time.Since(start)}
}

func (o outcome) String() string {
	return fmt.Sprintf("status=%d body=%d B err=%v bodyErr=%v in %s", o.status, len(o.body), o.err, o.bodyErr, o.elapsed.Round(time.Millisecond))
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// isReset: the peer reset the connection; depending on timing the client
// sees the RST while reading, while writing, or as a plain EOF.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestModes: every mode as a real http.Client with a timeout observes it.
func TestModes(t *testing.T) {
	p, _ := startHTTP(t)
	half := payload[:len(payload)/2]
	cases := []struct {
		mode    Mode
		path    string
		timeout time.Duration
		check   func(o outcome) error
	}{
		{Healthy, "/json", time.Second, func(o outcome) error {
			if o.err != nil || o.status != 200 || !bytes.Equal(o.body, payload) {
				return errors.New("want 200 and the backend's body")
			}
			return nil
		}},
		{Refuse, "/json", time.Second, func(o outcome) error {
			if !isRefused(o.err) {
				return errors.New("want ECONNREFUSED")
			}
			return nil
		}},
		{Reset, "/json", time.Second, func(o outcome) error {
			if !isReset(o.err) {
				return errors.New("want a connection reset")
			}
			return nil
		}},
		{Hang, "/json", 300 * time.Millisecond, func(o outcome) error {
			if !isTimeout(o.err) || o.elapsed < 300*time.Millisecond {
				return errors.New("want the client's timeout after 300ms")
			}
			return nil
		}},
		{Slow(300 * time.Millisecond), "/json", 2 * time.Second, func(o outcome) error {
			if o.err != nil || o.status != 200 || !bytes.Equal(o.body, payload) || o.elapsed < 300*time.Millisecond {
				return errors.New("want the full answer after at least 300ms")
			}
			return nil
		}},
		{Slow(10 * time.Second), "/json", 300 * time.Millisecond, func(o outcome) error {
			if !isTimeout(o.err) || o.elapsed > 2*time.Second {
				return errors.New("want the client's timeout after 300ms, not the 10s delay")
			}
			return nil
		}},
		{Status(503), "/json", time.Second, func(o outcome) error {
			if o.err != nil || o.status != 503 || !strings.Contains(string(o.body), "injected 503") {
				return errors.New("want 503 with a body")
			}
			return nil
		}},
		{Respond(500, "application/json", `{"status":"error","error":"boom"}`), "/json", time.Second, func(o outcome) error {
			if o.status != 500 || string(o.body) != `{"status":"error","error":"boom"}` {
				return errors.New("want 500 with the given body")
			}
			return nil
		}},
		{CutMidBody, "/json", time.Second, func(o outcome) error {
			if o.status != 200 || !errors.Is(o.bodyErr, io.ErrUnexpectedEOF) || !bytes.Equal(o.body, half) {
				return errors.New("want 200, exactly half the body, then unexpected EOF")
			}
			return nil
		}},
		{CutMidBody, "/chunked", time.Second, func(o outcome) error {
			if o.status != 200 || !errors.Is(o.bodyErr, io.ErrUnexpectedEOF) || len(o.body) >= len(payload) || !bytes.HasPrefix(payload, o.body) {
				return errors.New("want 200, a prefix of the chunked body, then unexpected EOF")
			}
			return nil
		}},
		{CutAfter(100), "/json", time.Second, func(o outcome) error {
			if !errors.Is(o.bodyErr, io.ErrUnexpectedEOF) || !bytes.Equal(o.body, payload[:100]) {
				return errors.New("want 100 bytes, then unexpected EOF")
			}
			return nil
		}},
		{Garbage, "/json", time.Second, func(o outcome) error {
			if o.err != nil || o.bodyErr != nil || o.status != 200 || len(o.body) != garbageSize || json.Valid(o.body) {
				return errors.New("want 200 with 4 KiB of invalid JSON")
			}
			return nil
		}},
		{Truncate, "/json", time.Second, func(o outcome) error {
			if o.err != nil || o.bodyErr != nil || o.status != 200 || !bytes.Equal(o.body, half) {
				return errors.New("want a cleanly framed 200 carrying the first half of the body")
			}
			var v any
			if err := json.Unmarshal(o.body, &v); err == nil || !strings.Contains(err.Error(), "unexpected end of JSON input") {
				return fmt.Errorf("want a JSON decoder to fail at the end, got %v", err)
			}
			return nil
		}},
		{Status(502).OnPath("/chunked"), "/json", time.Second, func(o outcome) error {
			if o.status != 200 || !bytes.Equal(o.body, payload) {
				return errors.New("a fault on /chunked must leave /json healthy")
			}
			return nil
		}},
		{Status(502).OnPath("/chunked"), "/chunked", time.Second, func(o outcome) error {
			if o.status != 502 {
				return errors.New("want 502 on /chunked")
			}
			return nil
		}},
		{Healthy, "/json", time.Second, func(o outcome) error { // back to healthy after all of it
			if o.err != nil || o.status != 200 || !bytes.Equal(o.body, payload) {
				return errors.New("want 200 and the backend's body")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String()+tc.path, func(t *testing.T) {
			set(t, p, tc.mode)
			o := get(client(t, tc.timeout), p.URL()+tc.path)
			t.Logf("%s %s: %s", tc.mode, tc.path, o)
			if err := tc.check(o); err != nil {
				t.Errorf("%s %s: %v; got %s", tc.mode, tc.path, err, o)
			}
		})
	}
}

func TestHugeBodies(t *testing.T) {
	p, _ := startHTTP(t)
	c := client(t, 30*time.Second)
	at := time.Unix(1_800_000_000, 0)

	t.Run("prometheus", func(t *testing.T) {
		const n = 5_000 // TestGeneratorSizes covers the 100k case
		set(t, p, Huge(PrometheusVector(n, at)))
		resp, err := c.Get(p.URL() + "/api/v1/query")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Status string
			Data   struct {
				ResultType string
				Result     []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		cr := &countReader{r: resp.Body}
		if err := json.NewDecoder(cr).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if doc.Status != "success" || doc.Data.ResultType != "vector" || len(doc.Data.Result) != n {
			t.Fatalf("got status %q type %q with %d series, want success vector %d", doc.Status, doc.Data.ResultType, len(doc.Data.Result), n)
		}
		last := doc.Data.Result[n-1]
		if last.Metric["workload"] != fmt.Sprint("w-", n-1) || last.Value[0].(float64) != float64(at.Unix()) {
			t.Errorf("last series %v", last)
		}
		t.Logf("%d series = %d bytes (%d B/series)", n, cr.n, cr.n/n)
	})

	t.Run("flux", func(t *testing.T) {
		const n = 5_000
		set(t, p, Huge(FluxCSV(n, at)))
		resp, err := c.Get(p.URL() + "/api/v2/query")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := csv.NewReader(resp.Body)
		r.Comment = '#'
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != n+1 || recs[0][6] != "_value" || len(recs[n]) != 11 {
			t.Fatalf("got %d records (want header + %d), header %v", len(recs), n, recs[0])
		}
		if recs[n][2] != fmt.Sprint((n-1)/100) {
			t.Errorf("last row's table = %s, want %d", recs[n][2], (n-1)/100)
		}
	})

	t.Run("json array", func(t *testing.T) {
		set(t, p, Huge(JSONArray(1<<20)))
		o := get(c, p.URL()+"/anything")
		var v []map[string]any
		if err := json.Unmarshal(o.body, &v); err != nil || len(o.body) < 1<<20 || len(o.body) > 1<<20+300 {
			t.Fatalf("%s: %v", o, err)
		}
	})
}

// TestGeneratorSizes pins the "50 MB / 100k series" the fault matrix asks for.
func TestGeneratorSizes(t *testing.T) {
	cw := &countWriter{}
	if err := PrometheusVector(100_000, time.Unix(1_800_000_000, 0)).Write(cw); err != nil {
		t.Fatal(err)
	}
	if cw.n < 45<<20 || cw.n > 70<<20 {
		t.Errorf("100k series = %d bytes, want about 50 MB", cw.n)
	}
	t.Logf("PrometheusVector(100000) = %.1f MB", float64(cw.n)/1e6)
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// stream opens /stream and returns a reader of its lines.
func stream(t *testing.T, c *http.Client, ctx context.Context, url string) (*bufio.Reader, func()) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/stream", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatalf("first line: %v", err)
	}
	return br, func() { resp.Body.Close() }
}

// readFor reads lines until an error or d elapses; it returns the error
// and how many lines arrived.
func readFor(br *bufio.Reader, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	lines := 0
	for time.Now().Before(deadline) {
		if _, err := br.ReadString('\n'); err != nil {
			return lines, err
		}
		lines++
	}
	return lines, nil
}

// TestSwitchMidFlight: open streams and waiting requests follow Set.
func TestSwitchMidFlight(t *testing.T) {
	p, _ := startHTTP(t)

	t.Run("cut", func(t *testing.T) {
		set(t, p, Healthy)
		br, done := stream(t, client(t, 0), context.Background(), p.URL())
		defer done()
		set(t, p, CutMidBody)
		_, err := readFor(br, 2*time.Second)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("open stream after CutMidBody: got %v, want unexpected EOF", err)
		}
	})

	t.Run("hang", func(t *testing.T) {
		set(t, p, Healthy)
		ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
		defer cancel()
		br, done := stream(t, client(t, 0), ctx, p.URL())
		defer done()
		set(t, p, Hang)
		time.Sleep(50 * time.Millisecond) // let buffered lines drain
		br.Discard(br.Buffered())
		lines, err := readFor(br, 2*time.Second)
		if !errors.Is(err, context.DeadlineExceeded) || lines > 3 {
			t.Fatalf("open stream after Hang: %d more lines, err %v; want silence until the client's deadline", lines, err)
		}
		set(t, p, Healthy)
		if o := get(client(t, time.Second), p.URL()+"/json"); o.status != 200 {
			t.Fatalf("new request after recovery: %s", o)
		}
	})

	t.Run("refuse", func(t *testing.T) {
		set(t, p, Healthy)
		br, done := stream(t, client(t, 0), context.Background(), p.URL())
		defer done()
		set(t, p, Refuse)
		if _, err := readFor(br, 2*time.Second); !isReset(err) {
			t.Fatalf("open stream after Refuse: got %v, want a reset", err)
		}
		if o := get(client(t, time.Second), p.URL()+"/json"); !isRefused(o.err) {
			t.Fatalf("new request while refusing: %s", o)
		}
		set(t, p, Healthy)
		if o := get(client(t, time.Second), p.URL()+"/json"); o.status != 200 || !bytes.Equal(o.body, payload) {
			t.Fatalf("same address after recovery: %s", o)
		}
	})

	t.Run("open stream slows down", func(t *testing.T) {
		set(t, p, Healthy)
		br, done := stream(t, client(t, 0), context.Background(), p.URL())
		defer done()
		set(t, p, Slow(200*time.Millisecond))
		time.Sleep(50 * time.Millisecond) // let buffered lines drain
		br.Discard(br.Buffered())
		// Each chunk waits 200ms: lines come in bursts with long gaps
		// between them (10ms apart when healthy).
		gaps, last := 0, time.Now()
		for end := last.Add(time.Second); time.Now().Before(end); {
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			if time.Since(last) > 150*time.Millisecond {
				gaps++
			}
			last = time.Now()
		}
		if gaps < 3 {
			t.Fatalf("%d gaps over 150ms in 1s; want about 5 with 200ms per chunk", gaps)
		}
	})

	t.Run("slow then healthy", func(t *testing.T) {
		set(t, p, Slow(10*time.Second))
		res := make(chan outcome, 1)
		go func() { res <- get(client(t, 5*time.Second), p.URL()+"/json") }()
		time.Sleep(150 * time.Millisecond)
		set(t, p, Healthy)
		o := <-res
		if o.status != 200 || o.elapsed > 2*time.Second {
			t.Fatalf("a waiting request must go through once healthy: %s", o)
		}
	})

	t.Run("slow then 503", func(t *testing.T) {
		set(t, p, Slow(10*time.Second))
		res := make(chan outcome, 1)
		go func() { res <- get(client(t, 5*time.Second), p.URL()+"/json") }()
		time.Sleep(150 * time.Millisecond)
		set(t, p, Status(503))
		if o := <-res; o.status != 503 {
			t.Fatalf("a waiting request follows the new mode: %s", o)
		}
	})

	t.Run("keep-alive connection follows the mode", func(t *testing.T) {
		set(t, p, Healthy)
		c := client(t, time.Second)
		before := p.Stats()
		if o := get(c, p.URL()+"/json"); o.status != 200 {
			t.Fatal(o)
		}
		set(t, p, Status(500))
		if o := get(c, p.URL()+"/json"); o.status != 500 {
			t.Fatalf("second request on the same connection: %s", o)
		}
		after := p.Stats()
		if after.Connections-before.Connections != 1 || after.Requests-before.Requests != 2 || after.Forwarded-before.Forwarded != 1 {
			t.Errorf("stats moved by %+v → %+v; want 1 connection, 2 requests, 1 forwarded", before, after)
		}
	})
}

func TestRequestHeaders(t *testing.T) {
	p, _ := startHTTP(t)
	req, _ := http.NewRequest(http.MethodGet, p.URL()+"/headers", nil)
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client(t, time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h http.Header
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Get("Authorization") != "Bearer x" || h.Get("Accept-Encoding") != "" {
		t.Errorf("backend saw %v; want Authorization kept and Accept-Encoding dropped", h)
	}

	// Echo quotes the request, credentials included, without asking the backend.
	set(t, p, Echo(401))
	before := p.Stats().Forwarded
	req, _ = http.NewRequest(http.MethodGet, p.URL()+"/api/v1/query?query=up", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = client(t, time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || !strings.Contains(string(body), "Authorization: Bearer s3cret") ||
		!strings.Contains(string(body), "GET /api/v1/query?query=up") || p.Stats().Forwarded != before {
		t.Errorf("echo: %d %q", resp.StatusCode, body)
	}
}

// TestTCP: the byte-stream proxy in front of a TLS server (as in front of
// kube-apiserver): connection-level modes work without parsing anything.
func TestTCP(t *testing.T) {
	be := backend(t, true)
	p, err := StartTCP(context.Background(), hostPort(t, be.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	url := "https://" + p.Addr()
	tlsClient := func(timeout time.Duration) *http.Client {
		tr := be.Client().Transport.(*http.Transport).Clone()
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Timeout: timeout, Transport: tr}
	}
	for _, m := range []Mode{Status(500), Garbage, Truncate, Huge(JSONArray(10)), Echo(401), Hang.OnPath("/x")} {
		if err := p.Set(m); err == nil {
			t.Errorf("Set(%s) on a TCP proxy must fail", m)
		}
	}
	cases := []struct {
		mode    Mode
		timeout time.Duration
		check   func(o outcome) bool
	}{
		{Healthy, 2 * time.Second, func(o outcome) bool { return o.status == 200 && bytes.Equal(o.body, payload) }},
		{Refuse, 2 * time.Second, func(o outcome) bool { return isRefused(o.err) }},
		{Reset, 2 * time.Second, func(o outcome) bool { return isReset(o.err) }},
		{Hang, 300 * time.Millisecond, func(o outcome) bool { return isTimeout(o.err) }},
		{Slow(100 * time.Millisecond), 5 * time.Second, func(o outcome) bool {
			return o.status == 200 && bytes.Equal(o.body, payload) && o.elapsed >= 300*time.Millisecond // ≥3 server flights
		}},
		{CutMidBody, 2 * time.Second, func(o outcome) bool { return o.err != nil }}, // cut inside the TLS handshake
		{CutAfter(20 << 10), 2 * time.Second, func(o outcome) bool { // past the handshake, inside the body
			return o.status == 200 && o.bodyErr != nil && len(o.body) < len(payload)
		}},
		{Healthy, 2 * time.Second, func(o outcome) bool { return o.status == 200 && bytes.Equal(o.body, payload) }},
	}
	for _, tc := range cases {
		set(t, p, tc.mode)
		o := get(tlsClient(tc.timeout), url+"/json")
		t.Logf("tcp %s: %s", tc.mode, o)
		if !tc.check(o) {
			t.Errorf("tcp %s: unexpected %s", tc.mode, o)
		}
	}

	t.Run("open TLS stream hangs", func(t *testing.T) {
		set(t, p, Healthy)
		ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
		defer cancel()
		br, done := stream(t, tlsClient(0), ctx, url)
		defer done()
		set(t, p, Hang)
		time.Sleep(50 * time.Millisecond)
		br.Discard(br.Buffered())
		if lines, err := readFor(br, 2*time.Second); !errors.Is(err, context.DeadlineExceeded) || lines > 3 {
			t.Fatalf("%d more lines, err %v; want silence until the deadline", lines, err)
		}
	})

	t.Run("open TLS stream is cut", func(t *testing.T) {
		set(t, p, Healthy)
		br, done := stream(t, tlsClient(0), context.Background(), url)
		defer done()
		set(t, p, CutMidBody)
		if _, err := readFor(br, 2*time.Second); err == nil {
			t.Fatal("the stream kept going after CutMidBody")
		} else {
			t.Logf("cut stream: %v", err)
		}
	})
}

// TestNoLeaks runs 100 fault/recover cycles through both kinds of proxy
// and checks that nothing is left running after Close.
func TestNoLeaks(t *testing.T) {
	leakcheck.Verify(t)
	faults := []Mode{Refuse, Reset, Hang, Slow(20 * time.Millisecond), Status(503), CutMidBody, Garbage, Truncate, Huge(JSONArray(64 << 10)), CutAfter(10), Echo(400)}

	be := httptest.NewServer(backendMux())
	hp, err := Start(context.Background(), hostPort(t, be.URL))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := StartTCP(context.Background(), hostPort(t, be.URL))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	c := &http.Client{Timeout: 100 * time.Millisecond, Transport: tr}
	wantRequests := 0 // requests that must have reached the HTTP proxy
	for i := range 100 {
		m := faults[i%len(faults)]
		for _, p := range []*Proxy{hp, tp} {
			if !p.isHTTP && m.httpOnly() {
				continue
			}
			set(t, p, m)
			get(c, p.URL()+"/json") // any outcome; the fault is the point
			if p.isHTTP {
				wantRequests++ // the recovery request
				if m.kind != kindRefuse && m.kind != kindReset {
					wantRequests++
				}
			}
			set(t, p, Healthy)
			var o outcome
			for try := 0; try < 3; try++ { // a pooled connection may have died with the fault
				if o = get(c, p.URL()+"/json"); o.status == 200 {
					break
				}
			}
			if o.status != 200 || !bytes.Equal(o.body, payload) {
				t.Fatalf("cycle %d (%s, http=%v): no recovery: %s", i, m, p.isHTTP, o)
			}
		}
	}
	st := hp.Stats()
	t.Logf("http proxy after 100 cycles: %+v", st)
	// Every recovery is forwarded; every fault but Refuse and Reset (which
	// never let a request through) reaches the HTTP layer too.
	if st.Forwarded < 100 || st.Requests < int64(wantRequests) || st.Connections < 20 {
		t.Errorf("stats %+v: want ≥100 forwarded, ≥%d requests, ≥20 connections for 100 cycles", st, wantRequests)
	}
	tr.CloseIdleConnections()
	hp.Close()
	tp.Close()
	be.Close()
}

func backendMux() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	})
}

func TestCloseAndContext(t *testing.T) {
	leakcheck.Verify(t)
	be := httptest.NewServer(backendMux())
	defer be.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, hostPort(t, be.URL))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := StartTCP(ctx, hostPort(t, be.URL))
	if err != nil {
		t.Fatal(err)
	}
	// A request hangs while the proxy goes away: the client must be freed.
	set(t, p, Hang)
	res := make(chan outcome, 1)
	c := client(t, 5*time.Second)
	go func() { res <- get(c, p.URL()+"/json") }()
	time.Sleep(100 * time.Millisecond)
	cancel() // ends both proxies
	o := <-res
	if o.err == nil || isTimeout(o.err) {
		t.Errorf("hung request when the proxy stopped: %s; want a connection error before the timeout", o)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, addr := range []string{p.Addr(), tp.Addr()} {
		for {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepts after the context ended", addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	p.Close() // idempotent
	if err := p.Set(Healthy); err == nil {
		t.Error("Set after Close must fail")
	}
	c.CloseIdleConnections()
}

// TestOnRequestText fails only the requests that carry a text, in the
// URL query or the form body, raw or URL-encoded.
func TestOnRequestText(t *testing.T) {
	p, _ := startHTTP(t)
	set(t, p, Status(500).OnRequestText("rate(x[5m])"))
	c := client(t, time.Second)
	post := func(q string) int {
		resp, err := c.PostForm(p.URL()+"/json", url.Values{"query": {q}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && !bytes.Equal(body, payload) {
			t.Errorf("a forwarded POST lost its answer")
		}
		return resp.StatusCode
	}
	if got := post("sum(rate(x[5m]))"); got != 500 {
		t.Errorf("POST with the text: %d, want 500", got)
	}
	if got := post("up"); got != 200 {
		t.Errorf("POST without the text: %d, want 200", got)
	}
	if o := get(c, p.URL()+"/json?query="+url.QueryEscape("rate(x[5m])")); o.status != 500 {
		t.Errorf("GET with the text: %s", o)
	}
	if o := get(c, p.URL()+"/json?query=up"); o.status != 200 {
		t.Errorf("GET without the text: %s", o)
	}
}
