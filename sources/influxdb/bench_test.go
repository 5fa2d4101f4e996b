package influxdb

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// amplify copies every data row of a recorded answer `copies` times,
// renaming the function in each copy (name-0, name-1, ...): the same
// answer for copies × as many functions.
func amplify(t testing.TB, body string, copies int) string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(body))
	r.FieldsPerRecord = -1
	var b strings.Builder
	w := csv.NewWriter(&b)
	fnCol := -1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(rec) <= 1 || strings.HasPrefix(rec[0], "#"):
			fnCol = -1
			_ = w.Write(rec)
		case fnCol == -1 && rec[0] == "":
			for i, h := range rec {
				if h == tagFunction || h == tagFunctionName {
					fnCol = i
				}
			}
			_ = w.Write(rec)
			if fnCol == -1 {
				fnCol = -2 // a table without functions
			}
		case fnCol >= 0:
			for c := range copies {
				cp := append([]string(nil), rec...)
				cp[fnCol] = rec[fnCol] + "-" + strconv.Itoa(c)
				_ = w.Write(cp)
			}
		default:
			_ = w.Write(rec)
		}
	}
	w.Flush()
	// The reader skips empty lines; a real answer ends with one.
	b.WriteString("\n")
	return b.String()
}

// BenchmarkPoll1000Functions is one refresh of 1,000 functions (the
// recorded answers amplified 100×) over HTTP: the number of queries stays
// 3 per round whatever the number of functions.
func BenchmarkPoll1000Functions(b *testing.B) {
	answers := map[string]string{}
	for _, f := range []string{"detect.csv", "latency.csv", "traffic.csv", "cloudwatch.csv"} {
		answers[f] = amplify(b, fixture(b, f), 100)
	}
	fs := newFluxServer(b, func(w http.ResponseWriter, q string) { writeCSV(w, answers[fixtureFor(q)]) })
	src := newTestSource(b, fs.URL, nil)
	u := src.Poll(context.Background()) // detection, once
	if u.Err != nil {
		b.Fatal(u.Err)
	}
	if len(u.Workloads) != 1000 {
		b.Fatalf("%d functions, want 1000", len(u.Workloads))
	}
	before := src.Queries()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if u := src.Poll(context.Background()); u.Err != nil || len(u.Workloads) != 1000 {
			b.Fatalf("err %v, %d functions", u.Err, len(u.Workloads))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(src.Queries()-before)/float64(b.N), "queries/op")
}

// TestQueriesPerRoundIndependentOfFunctions: 10 or 1,000 functions, the
// same three queries per round.
func TestQueriesPerRoundIndependentOfFunctions(t *testing.T) {
	for _, copies := range []int{1, 100} {
		answers := map[string]string{}
		for _, f := range []string{"detect.csv", "latency.csv", "traffic.csv", "cloudwatch.csv"} {
			answers[f] = amplify(t, fixture(t, f), copies)
		}
		fs := newFluxServer(t, func(w http.ResponseWriter, q string) { writeCSV(w, answers[fixtureFor(q)]) })
		src := newTestSource(t, fs.URL, nil)
		mustPoll(t, src)
		before := src.Queries()
		u := mustPoll(t, src)
		if n := src.Queries() - before; n != 3 {
			t.Errorf("%d functions: %d queries per round, want 3", len(u.Workloads), n)
		}
		if len(u.Workloads) != 10*copies {
			t.Errorf("%d functions, want %d", len(u.Workloads), 10*copies)
		}
	}
}
