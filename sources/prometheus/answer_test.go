package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/sources"
)

// clientGolang answers a body the way perch read instant queries before
// the streaming decoder: client_golang's v1 API Query against a server
// that sends the body. It is the reference the decoder must agree with.
type clientGolang struct {
	body atomic.Pointer[[]byte]
	code atomic.Int64
	api  v1.API
}

func newClientGolang(t testing.TB) *clientGolang {
	c := &clientGolang{}
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(c.code.Load()))
		_, _ = w.Write(*c.body.Load())
	})
	cl, err := api.NewClient(api.Config{Address: f.URL})
	if err != nil {
		t.Fatal(err)
	}
	c.api = v1.NewAPI(cl)
	return c
}

func (c *clientGolang) query(code int, body []byte) (model.Value, v1.Warnings, error) {
	c.body.Store(&body)
	c.code.Store(int64(code))
	val, warns, _, err := c.api.Query(context.Background(), "q", time.Time{})
	return val, warns, err
}

// decodeBody runs perch's decoder on a 200 answer.
func decodeBody(body []byte, maxSeries int) (instantAnswer, error) {
	resp := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body))}
	return readAnswer(context.Background(), resp, maxSeries)
}

// sameAsClientGolang checks the decoder against client_golang on one body:
// whenever client_golang reads a vector, perch reads the same series and
// warnings, and with a cap of k it keeps exactly the first k and says
// that more followed. (Where client_golang fails, perch may fail or stop
// earlier; that is not compared.)
func sameAsClientGolang(t *testing.T, ref *clientGolang, body []byte) {
	t.Helper()
	val, warns, refErr := ref.query(http.StatusOK, body)
	ans, err := decodeBody(body, 1<<30)
	vec, isVector := val.(model.Vector)
	if refErr != nil {
		return
	}
	if !isVector {
		if err == nil && ans.resultType == model.ValVector.String() {
			t.Fatalf("client_golang read a %T, perch a vector of %d: %.200q", val, len(ans.vec), body)
		}
		return
	}
	if err != nil || ans.resultType != model.ValVector.String() || ans.more {
		t.Fatalf("client_golang read %d series, perch failed (type %q, more %v): %v\nbody %.300q", len(vec), ans.resultType, ans.more, err, body)
	}
	equalVectors(t, "uncapped", vec, ans.vec)
	if fmt.Sprint(warns) != fmt.Sprint(ans.warnings) && !(len(warns) == 0 && len(ans.warnings) == 0) {
		t.Fatalf("warnings %q, client_golang %q", ans.warnings, warns)
	}
	for _, k := range []int{1, 2} {
		capped, err := decodeBody(body, k)
		if err != nil {
			t.Fatalf("cap %d: %v (uncapped it decodes)", k, err)
		}
		want := vec
		if len(vec) > k {
			want = vec[:k]
		}
		if capped.more != (len(vec) > k) {
			t.Fatalf("cap %d, %d series: more = %v", k, len(vec), capped.more)
		}
		equalVectors(t, fmt.Sprintf("cap %d", k), want, capped.vec)
	}
}

func equalVectors(t *testing.T, what string, want, got model.Vector) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d series, client_golang %d", what, len(got), len(want))
	}
	for i := range want {
		if (want[i] == nil) != (got[i] == nil) || want[i] != nil && !want[i].Equal(got[i]) {
			t.Fatalf("%s: series %d is %v, client_golang %v", what, i, got[i], want[i])
		}
	}
}

// answerSeeds are bodies that exercise the envelope: real answers, key
// orders, warnings, histograms, odd values, errors and broken JSON.
func answerSeeds(t testing.TB) [][]byte {
	seeds := []string{
		`{"status":"success","data":{"resultType":"vector","result":[]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a","workload":"b"},"value":[1700000000.123,"3"]},{"metric":{},"value":[1,"NaN"]},{"metric":{"x":"y"},"value":[2,"+Inf"]}]}}`,
		`{"data":{"result":[{"value":[1,"2"],"metric":{"a":"b"}},{"metric":{"a":"c"},"value":[ 3 , "4" ]}],"resultType":"vector"},"status":"success","warnings":["w1","w2"]}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]},{"metric":{"a":"c"},"value":[1,"3"]},{"metric":{"a":"d"},"value":[1,"4"]}]},"warnings":["capped?"],"infos":["i"]}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[null,{"metric":{"a":"b"},"value":[1,"2",3]},{"metric":{"a":"c"}}]}}`,
		`{"Status":"success","DATA":{"ResultType":"vector","Result":[{"metric":{"a":"b"},"value":[1,"2"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}]},"data":{"resultType":"vector","result":[{"metric":{"a":"z"},"value":[5,"6"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}],"stats":{"timings":{"evalTotalTime":0.1}}}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]]}]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`,
		`{"status":"success","data":{"resultType":"string","result":[1,"s"]}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"x"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":["1","2"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}]}} trailing`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}`,
		`null`, ``, `{`, `[]`, `{}`, `"x"`,
	}
	out := make([][]byte, 0, len(seeds)+16)
	for _, s := range seeds {
		out = append(out, []byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "recorded", "query-*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded answers in testdata/recorded")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestDecoderReadsWhatClientGolangRead: every recorded answer of the real
// server and the edge cases decode to the same series as before.
func TestDecoderReadsWhatClientGolangRead(t *testing.T) {
	ref := newClientGolang(t)
	vectors := 0
	for _, body := range answerSeeds(t) {
		sameAsClientGolang(t, ref, body)
		if val, _, err := ref.query(http.StatusOK, body); err == nil {
			if _, ok := val.(model.Vector); ok {
				vectors++
			}
		}
	}
	if vectors < 15 {
		t.Fatalf("only %d seeds are vectors for client_golang: the comparison proves little", vectors)
	}
}

// FuzzDecodeAnswer compares the streaming decoder with client_golang on
// arbitrary bodies (the seeds run as a normal test).
func FuzzDecodeAnswer(f *testing.F) {
	for _, b := range answerSeeds(f) {
		f.Add(b)
	}
	ref := newClientGolang(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsClientGolang(t, ref, body)
	})
}

// TestErrorAnswersAsClientGolang: status codes and error documents give
// the same v1.Error (type, message, page) as before, through the whole
// request path (POST, GET fallback).
func TestErrorAnswersAsClientGolang(t *testing.T) {
	for _, c := range []struct {
		code int
		body string
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:19: parse error"}`},
		{422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`},
		{422, `{"status":"error"}`},
		{400, `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{400, `<html>bad request</html>`},
		{401, "Unauthorized\nGET /api/v1/query\nAuthorization: Bearer xyz\n"},
		{403, `forbidden`},
		{404, `404 page not found`},
		{500, `{"status":"error","errorType":"internal","error":"tsdb head is corrupt"}`},
		{502, `<html>bad gateway</html>`},
		{503, "faultproxy: injected 503\n"},
		{200, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`},
		{200, `not json`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[`},
		{204, ``},
	} {
		t.Run(fmt.Sprintf("%d %.20s", c.code, c.body), func(t *testing.T) {
			ref := newClientGolang(t)
			_, _, want := ref.query(c.code, []byte(c.body))
			f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.code)
				_, _ = io.WriteString(w, c.body)
			})
			s := newTestSource(t, f.URL, nil)
			_, got := s.queryInstant(context.Background(), "q", time.Time{}, 10)
			if want == nil || got == nil {
				t.Fatalf("perch %v, client_golang %v: both must fail", got, want)
			}
			var we, ge *v1.Error
			if !errors.As(want, &we) {
				t.Fatalf("client_golang's error is not a v1.Error: %v", want)
			}
			if !errors.As(got, &ge) || *ge != *we {
				t.Fatalf("perch %#v\nclient_golang %#v", got, we)
			}
		})
	}
}

// endlessAnswer streams series until the client stops reading (or n are
// written) and counts the bytes it managed to send.
func endlessAnswer(n int, sent *atomic.Int64) func(w http.ResponseWriter, req apiRequest) {
	return func(w http.ResponseWriter, req apiRequest) {
		w.Header().Set("Content-Type", "application/json")
		cw := &countingWriter{w: w, n: sent}
		if _, err := io.WriteString(cw, `{"status":"success","data":{"resultType":"vector","result":[`); err != nil {
			return
		}
		for i := range n {
			sep := ","
			if i == 0 {
				sep = ""
			}
			line := fmt.Sprintf(`%s{"metric":{"namespace":"ns","workload":"w%d","workload_kind":"Deployment","perch_metric":"replicas_desired","pod":"%0200d"},"value":[1700000000,"1"]}`, sep, i, i)
			if _, err := io.WriteString(cw, line); err != nil {
				return // the client has gone
			}
		}
		_, _ = io.WriteString(cw, `]}}`)
	}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// A valid answer far larger than the caps is not read past max_series:
// the round ends with the first max_series series and says so, having
// read a sliver of the answer. Before the streaming decoder it read (and
// decoded) all of it.
func TestHugeAnswerStopsAtMaxSeries(t *testing.T) {
	const series = 2_000_000 // ~560 MB if it were all sent
	var sent atomic.Int64
	f := newFake(t, endlessAnswer(series, &sent))
	s := newTestSource(t, f.URL, func(c *Config) {
		c.Presets = []string{"lambda"} // 2 queries
		c.MaxSeries = 1000
		c.MaxResponseBytes = 1 << 30 // only max_series can stop it in time
		c.Timeout = time.Minute
	})
	start := time.Now()
	u := s.Poll(context.Background())
	took := time.Since(start)
	if !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "answer has more than 1000 series (max_series); kept the first 1000") {
		t.Fatalf("the cap is not said: %v", u.Err)
	}
	if len(u.Workloads) != 1000 || u.Full {
		t.Fatalf("%d workloads, full %v; want the first 1000, not full", len(u.Workloads), u.Full)
	}
	if u.Workloads[0].ID.Name != "w0" {
		t.Fatalf("first workload %s, want w0 (the answer's first series)", u.Workloads[0].ID.Name)
	}
	// Wait for the handlers to notice the closed connections.
	waitUntil(t, 10*time.Second, func() bool { return f.calls.Load() == 2 })
	const whole = series * 280
	if got := sent.Load(); got > whole/20 {
		t.Fatalf("the server sent %d MB of a %d MB answer before perch stopped reading", got>>20, whole>>20)
	}
	t.Logf("round in %s; the server got %.1f MB of 2 × %d MB out before perch closed", took.Round(time.Millisecond), float64(sent.Load())/(1<<20), whole>>20)
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("timed out waiting")
		}
	}
}

// repeatedAnswer is faultproxy's 1,000-series answer with its series
// repeated k times (~470 kB each): generating 100,000 distinct series
// takes tens of seconds under -race, copying far less.
func repeatedAnswer(t *testing.T, k int) []byte {
	var b bytes.Buffer
	if err := faultproxy.PrometheusVector(1000, time.Unix(1_700_000_000, 0)).Write(&b); err != nil {
		t.Fatal(err)
	}
	head := []byte(`{"status":"success","data":{"resultType":"vector","result":[`)
	tail := []byte(`]}}`)
	series := bytes.TrimSuffix(bytes.TrimPrefix(b.Bytes(), head), tail)
	if len(series) == b.Len() {
		t.Fatal("unexpected answer framing from faultproxy.PrometheusVector")
	}
	out := make([]byte, 0, len(head)+k*(len(series)+1)+len(tail))
	out = append(out, head...)
	for i := range k {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, series...)
	}
	return append(out, tail...)
}

// What a round allocates under a 12 MB answer (25,000 series) per query
// is bounded by max_series, not by the answer: a few MB at max_series
// 200, where decoding whole bodies allocated ~10 bytes per byte of answer
// (BenchmarkHugeAnswer100k: ~1.8 GB for 4 × 47 MB).
func TestHugeAnswerMemoryIsBoundedByTheCaps(t *testing.T) {
	body := repeatedAnswer(t, 25)
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	s := newTestSource(t, f.URL, func(c *Config) {
		c.Presets = []string{"kubernetes"} // 4 queries, 4 in flight
		c.MaxSeries = 200
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	u := s.Poll(context.Background())
	runtime.ReadMemStats(&after)
	if !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "more than 200 series (max_series)") {
		t.Fatalf("cap not reported: %v", u.Err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	if allocated > 16<<20 {
		t.Fatalf("a round allocated %d MB for 4 answers of %d MB capped at 200 series", allocated>>20, len(body)>>20)
	}
	t.Logf("4 answers of %d MB at max_series 200: %.1f MB allocated, %d workloads", len(body)>>20, float64(allocated)/(1<<20), len(u.Workloads))
}

// An answer past max_response_bytes fails its query with the cap's name,
// whatever its series count (here one series with a huge label), for
// instant and range queries alike.
func TestMaxResponseBytesCapsAnAnswer(t *testing.T) {
	huge := strings.Repeat("x", 3<<20)
	f := newFake(t, func(w http.ResponseWriter, req apiRequest) {
		if strings.HasSuffix(req.path, "query_range") {
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"a","workload":"b","pad":"`+huge+`"},"values":[[1,"1"]]}]}}`)
			return
		}
		if strings.Contains(req.query, "kube_deployment_spec_replicas") {
			writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a","workload":"b","pad":"`+huge+`"},"value":[1,"1"]}]}}`)
			return
		}
		synthetic(2)(w, req)
	})
	s := newTestSource(t, f.URL, func(c *Config) { c.Presets = []string{"kubernetes"}; c.MaxResponseBytes = 1 << 20 })
	u := s.Poll(context.Background())
	if u.Err == nil || errors.Is(u.Err, ErrPartial) {
		t.Fatalf("an answer over max_response_bytes must fail its query: %v", u.Err)
	}
	var qe *QueryError
	if !errors.As(u.Err, &qe) || qe.Name != "kube_replicas" {
		t.Fatalf("not a QueryError for kube_replicas: %v", u.Err)
	}
	if msg := u.Err.Error(); !strings.HasPrefix(msg, "answer exceeds 1 MiB (max_response_bytes): query kube_replicas") ||
		strings.Count(msg, "max_response_bytes") != 1 {
		t.Fatalf("error %q must lead with the cap, once", msg)
	}
	if len(u.Workloads) == 0 || u.Full {
		t.Fatalf("the other queries must still deliver: %d workloads, full %v", len(u.Workloads), u.Full)
	}
	_, err := s.Range(context.Background(), sources.RangeQuery{ID: sources.WorkloadID{Cluster: "demo", Namespace: "a", Name: "b"},
		Metric: sources.ReplicasCurrent, Start: time.Unix(1700000000, 0), End: time.Unix(1700003600, 0), Step: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "answer exceeds 1 MiB (max_response_bytes)") {
		t.Fatalf("range: %v", err)
	}
}

func TestMaxResponseBytesConfig(t *testing.T) {
	if _, err := New(Config{URL: "http://x", MaxResponseBytes: -1}); err == nil || !strings.Contains(err.Error(), "max_response_bytes") {
		t.Fatalf("negative max_response_bytes: %v", err)
	}
	s, err := New(Config{URL: "http://x"})
	if err != nil || s.cfg.MaxResponseBytes != DefaultMaxResponseBytes || DefaultMaxResponseBytes != 64<<20 {
		t.Fatalf("default: %v %d", err, s.cfg.MaxResponseBytes)
	}
	for n, want := range map[int64]string{64 << 20: "64 MiB", 3 << 19: "1.5 MiB", 512 << 10: "512 KiB", 1000: "1000 bytes"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	// The key as a user writes it, through the strict config decoder.
	path := filepath.Join(t.TempDir(), "perch.yaml")
	yaml := "sources:\n  - type: prometheus\n    url: http://x\n    max_series: 500\n    max_response_bytes: 8388608\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var pc Config
	if err := cfg.Sources[0].Decode(&pc); err != nil {
		t.Fatal(err)
	}
	if pc.MaxResponseBytes != 8<<20 || pc.MaxSeries != 500 {
		t.Fatalf("decoded %d bytes, %d series", pc.MaxResponseBytes, pc.MaxSeries)
	}
	if err := os.WriteFile(path, []byte(yaml+"    max_respons_bytes: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = config.Load(path); err == nil {
		err = cfg.Sources[0].Decode(&pc)
	}
	if err == nil || !strings.Contains(err.Error(), "max_respons_bytes") {
		t.Fatalf("a misspelt key must be an error naming it: %v", err)
	}
}
