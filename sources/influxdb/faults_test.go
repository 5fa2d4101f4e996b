package influxdb

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

// TestPartialRoundInventsNoValues: when one family fails, the round must
// not derive values from what is missing. Before, a failed latency family
// (which carries the invocation counts) turned every function's request
// rate and concurrency into 0 and its cost into the request fee alone.
func TestPartialRoundInventsNoValues(t *testing.T) {
	full := byWorkload(mustPoll(t, newTestSource(t, newFluxServer(t, nil).URL, nil)).Samples)
	for _, failing := range []string{"latency.csv", "traffic.csv", "cloudwatch.csv"} {
		t.Run(failing, func(t *testing.T) {
			fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
				if fixtureFor(q) == failing {
					writeRecordedError(t, w, "badflux.http")
					return
				}
				routeFixtures(t, w, q)
			})
			u := newTestSource(t, fs.URL, nil).Poll(context.Background())
			if !errors.Is(u.Err, ErrPartial) {
				t.Fatalf("want a partial round, got %v", u.Err)
			}
			for id, vals := range byWorkload(u.Samples) {
				for m, v := range vals {
					if m == sources.CostRate {
						t.Errorf("%s: cost %v computed from an incomplete round", id.Name, v)
					}
					if was, ok := full[id][m]; ok && was != 0 && v == 0 {
						t.Errorf("%s %s: 0 in the partial round, %v in the complete one", id.Name, m, was)
					}
				}
			}
		})
	}
}

// TestTruncatedAnswerIsAnError: an answer cut at a row boundary parses as
// a smaller, complete-looking result; InfluxDB ends every answer with an
// empty line, so its absence is reported instead.
func TestTruncatedAnswerIsAnError(t *testing.T) {
	body := fixture(t, "latency.csv")
	lines := strings.SplitAfter(strings.TrimRight(body, "\r\n"), "\n")
	cut := strings.Join(lines[:len(lines)/2], "")
	if !strings.HasSuffix(cut, "\n") {
		t.Fatal("the cut must fall on a row boundary")
	}
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		if fixtureFor(q) == "latency.csv" {
			writeCSV(w, cut)
			return
		}
		routeFixtures(t, w, q)
	})
	u := newTestSource(t, fs.URL, nil).Poll(context.Background())
	if !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "query invocations latency: the answer ends in the middle of a table") {
		t.Fatalf("want the latency family reported as cut short, got %v", u.Err)
	}

	// Complete answers, empty ones included, end with an empty line.
	for _, ok := range []string{"\r\n", "a\r\n\r\n", "a\n\n"} {
		if !endsWithEmptyLine([]byte(ok)) {
			t.Errorf("%q must count as complete", ok)
		}
	}
	for _, bad := range []string{"a\r\n", "a\n", "a", "\r"} {
		if endsWithEmptyLine([]byte(bad)) {
			t.Errorf("%q must count as cut", bad)
		}
	}
}

// TestCappedAnswerIsNotReadToTheEnd: once max_series rows are read the
// body is closed. Before, the client library's Close read the rest of the
// answer first (up to the 64 MiB cap, or the timeout), so a huge answer
// was reported as a timeout instead of "max_series".
func TestCappedAnswerIsNotReadToTheEnd(t *testing.T) {
	var written atomic.Int64
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		if fixtureFor(q) != "latency.csv" {
			routeFixtures(t, w, q)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := &countingWriter{w: w, n: &written}
		_, _ = io.WriteString(cw, "#datatype,string,long,string,string,double\r\n#group,false,false,true,true,false\r\n#default,count,,,,\r\n,result,table,function,namespace,_value\r\n")
		for i := 0; i < 2_000_000; i++ { // about 70 MB
			if _, err := fmt.Fprintf(cw, ",,%d,fn-%d,ns,%d\r\n", i, i, i); err != nil {
				return // the client hung up
			}
		}
		_, _ = io.WriteString(cw, "\r\n")
	})
	src := newTestSource(t, fs.URL, func(c *Config) { c.MaxSeries = 1000; c.Timeout = 20 * time.Second })
	start := time.Now()
	u := src.Poll(context.Background())
	took := time.Since(start)
	if u.Err == nil || !strings.Contains(u.Err.Error(), "more than 1000 rows (max_series)") {
		t.Fatalf("want the cap named, got %v", u.Err)
	}
	// What the server managed to write before the client hung up: the
	// rows read plus socket buffers, not the 64 MiB cap.
	if n := written.Load(); n > 16<<20 {
		t.Errorf("the server wrote %d MiB of a capped answer before the client hung up", n>>20)
	}
	t.Logf("capped after %v; the server wrote %d KiB", took.Round(time.Millisecond), written.Load()>>10)
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

// TestErrorsAreOneLine: the header shows an error on one line. Before,
// a round whose queries all failed joined their errors with line breaks,
// and multi-line error pages were quoted as they were, so the header
// pushed the whole page down a line or more.
func TestErrorsAreOneLine(t *testing.T) {
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		// A gateway quoting the request, credentials included.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "401 Unauthorized\nPOST /api/v2/query\nAuthorization: Token perch:s3cret-pass\n\n")
	})
	src := newTestSource(t, fs.URL, func(c *Config) { c.Presets = []string{"invocations", "cloudwatch-lambda"} })
	u := src.Poll(context.Background())
	if u.Err == nil {
		t.Fatal("want an error")
	}
	msg := u.Err.Error()
	if strings.ContainsAny(msg, "\r\n") || strings.Contains(msg, "s3cret-pass") || strings.Count(msg, "HTTP 401: query ") != 3 {
		t.Fatalf("want the three 401s on one line, without the password: %q", msg)
	}
	if !errors.Is(u.Err, ErrUnauthorized) {
		t.Fatalf("the joined error must still match ErrUnauthorized: %v", u.Err)
	}
}

// TestErrorsLeadWithTheCause: at 120 columns the header shows some 70
// characters of the error; they must say what went wrong, not the URL.
func TestErrorsLeadWithTheCause(t *testing.T) {
	down := newFluxServer(t, nil)
	url := down.URL
	down.Close()
	src := newTestSource(t, url, func(c *Config) { c.Presets = []string{"invocations"} })
	if u := src.Poll(context.Background()); u.Err == nil || !strings.HasPrefix(u.Err.Error(), "influxdb: connection refused: query ") {
		t.Errorf("refused: %v", u.Err)
	}

	bad := newFluxServer(t, func(w http.ResponseWriter, q string) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	})
	src = newTestSource(t, bad.URL, func(c *Config) { c.Presets = []string{"invocations"} })
	if u := src.Poll(context.Background()); u.Err == nil || !strings.HasPrefix(u.Err.Error(), "influxdb: HTTP 502: query ") {
		t.Errorf("502: %v", u.Err)
	}

	cut := newFluxServer(t, func(w http.ResponseWriter, q string) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		body := fixture(t, fixtureFor(q))
		_, _ = io.WriteString(w, body[:len(body)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-answer
	})
	src = newTestSource(t, cut.URL, func(c *Config) { c.Presets = []string{"invocations"} })
	if u := src.Poll(context.Background()); u.Err == nil || !strings.HasPrefix(u.Err.Error(), "influxdb: unexpected EOF: query ") ||
		strings.Contains(u.Err.Error(), "server error") {
		t.Errorf("cut: %v", u.Err)
	}

	release := make(chan struct{})
	defer close(release)
	hung := newFluxServer(t, func(w http.ResponseWriter, q string) { <-release })
	src = newTestSource(t, hung.URL, func(c *Config) { c.Presets = []string{"invocations"}; c.Timeout = 300 * time.Millisecond })
	for range 3 { // the transport's header timeout and the context's race
		u := src.Poll(context.Background())
		if u.Err == nil || !strings.HasPrefix(u.Err.Error(), "influxdb: timed out after 300ms: query ") || strings.Contains(u.Err.Error(), "awaiting response headers") {
			t.Fatalf("hang: %v", u.Err)
		}
	}
}

// TestGzipAnswers: InfluxDB compresses answers when asked (the client
// library asks and inflates them itself): complete ones must not be
// taken for cut ones, and a compressed answer that stops early fails.
func TestGzipAnswers(t *testing.T) {
	var cut atomic.Bool
	fs := newFluxServer(t, func(w http.ResponseWriter, q string) {
		name := fixtureFor(q)
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = io.WriteString(zw, fixture(t, name))
		_ = zw.Close()
		body := b.Bytes()
		if cut.Load() && name == "latency.csv" {
			body = body[:len(body)/2]
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(body)
	})
	src := newTestSource(t, fs.URL, nil)
	u := mustPoll(t, src)
	if len(u.Workloads) == 0 {
		t.Fatal("no workloads from compressed answers")
	}
	cut.Store(true)
	if u := src.Poll(context.Background()); !errors.Is(u.Err, ErrPartial) || !strings.Contains(u.Err.Error(), "query invocations latency") {
		t.Fatalf("a compressed answer cut in half: %v", u.Err)
	}
}
