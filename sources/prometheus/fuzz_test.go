package prometheus

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzResponseBody feeds arbitrary bodies (and status codes) to a round:
// decoding and mapping must never panic, and a failure must be an error
// naming the query.
func FuzzResponseBody(f *testing.F) {
	for _, seed := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a","workload":"b","perch_metric":"replicas_desired","workload_kind":"Deployment"},"value":[1,"3"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a","workload":"b","perch_metric":"cost"},"value":[1,"+Inf"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"workload":"b","perch_metric":"nope"},"value":[1,"x"]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]}]}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","warnings":["w"],"data":{"resultType":"string","result":[1,"s"]}}`,
		`null`, ``, `{`, `[]`,
	} {
		f.Add(seed, 200)
		f.Add(seed, 500)
	}
	f.Fuzz(func(t *testing.T, body string, code int) {
		if code < 200 || code > 599 {
			code = 200
		}
		srv := newFake(t, func(w http.ResponseWriter, req apiRequest) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		})
		s := newTestSource(t, srv.URL, func(c *Config) {
			c.Presets = []string{"kubernetes", "lambda"}
			c.Timeout = time.Second
		})
		u := s.Poll(context.Background())
		if u.Err != nil && !strings.Contains(u.Err.Error(), "query ") {
			t.Fatalf("error without the query: %v", u.Err)
		}
		for _, smp := range u.Samples {
			if smp.ID.Name == "" {
				t.Fatalf("sample without a workload: %+v", smp)
			}
		}
	})
}
