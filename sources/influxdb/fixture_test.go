package influxdb

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

// The files in testdata/ were recorded from a real InfluxDB 1.8.3 (Flux
// 0.65) holding the simulator's functions written by influxfeed: the
// answers to this package's own queries (detect, latency, traffic,
// cloudwatch, range_*) and three error responses (*.http: status,
// Content-Type, X-Influxdb-Error, body). recorded.json holds the clock.

type recording struct {
	Now     time.Time          `json:"now"`
	Bucket  string             `json:"bucket"`
	Busiest sources.WorkloadID `json:"busiest"`
}

func loadRecording(t testing.TB) recording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r recording
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// csvRows parses an annotated-CSV fixture independently of the client
// library: one map per data row, column → text, with #default applied.
func csvRows(t testing.TB, body string) []map[string]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(body))
	r.FieldsPerRecord = -1
	var out []map[string]string
	var header, defaults []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(rec) <= 1:
		case rec[0] == "#default":
			defaults, header = rec, nil
		case strings.HasPrefix(rec[0], "#"):
		case header == nil:
			header = rec
		default:
			row := map[string]string{}
			for i, h := range header {
				if h == "" || i >= len(rec) {
					continue
				}
				v := rec[i]
				if v == "" && i < len(defaults) {
					v = defaults[i]
				}
				row[h] = v
			}
			out = append(out, row)
		}
	}
	return out
}

func atof(t testing.TB, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fluxServer serves recorded answers chosen by the query's text, and
// keeps every query it was asked.
type fluxServer struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
	auth    []string
	// answer picks the response; nil = routeFixtures.
	answer func(w http.ResponseWriter, q string)
}

func newFluxServer(t testing.TB, answer func(w http.ResponseWriter, q string)) *fluxServer {
	t.Helper()
	fs := &fluxServer{answer: answer}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/query" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		var body struct {
			Query string `json:"query"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fs.mu.Lock()
		fs.queries = append(fs.queries, body.Query)
		fs.auth = append(fs.auth, r.Header.Get("Authorization"))
		fs.mu.Unlock()
		if fs.answer != nil {
			fs.answer(w, body.Query)
			return
		}
		routeFixtures(t, w, body.Query)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fluxServer) asked() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.queries...)
}

// fixtureFor names the recorded answer to one of the source's queries.
func fixtureFor(q string) string {
	has := func(s string) bool { return strings.Contains(q, s) }
	switch {
	case has(`distinct(column: "_measurement")`):
		return "detect.csv"
	case has("aggregateWindow") && has(`yield(name: "failed")`):
		return "range_error.csv"
	case has("aggregateWindow") && has(`yield(name: "cold")`):
		return "range_cold.csv"
	case has("aggregateWindow") && has("quantile"):
		return "range_p95.csv"
	case has("aggregateWindow") && has(`yield(name: "mean")`):
		return "range_cost.csv"
	case has("aggregateWindow") && has("fn: count"):
		return "range_rate.csv"
	case has(`yield(name: "p50")`) || has(`yield(name: "mean")`):
		return "latency.csv"
	case has(`yield(name: "failed")`):
		return "traffic.csv"
	case has(`yield(name: "cloudwatch")`):
		return "cloudwatch.csv"
	}
	return ""
}

func routeFixtures(t testing.TB, w http.ResponseWriter, q string) {
	name := fixtureFor(q)
	if name == "" {
		http.Error(w, "no fixture for query", http.StatusBadRequest)
		return
	}
	writeCSV(w, fixture(t, name))
}

func writeCSV(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	_, _ = io.WriteString(w, body)
}

// writeRecordedError replays a recorded *.http error response.
func writeRecordedError(t testing.TB, w http.ResponseWriter, name string) {
	parts := strings.SplitN(fixture(t, name), "\n", 4)
	code, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) < 4 {
		t.Errorf("bad fixture %s", name)
		return
	}
	w.Header().Set("Content-Type", parts[1])
	if parts[2] != "" {
		w.Header().Set("X-Influxdb-Error", parts[2])
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, parts[3])
}
