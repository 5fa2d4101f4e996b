package influxdb

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/perch-dev/perch/sources"
)

// FuzzResultHandling feeds arbitrary response bodies through the client's
// annotated-CSV reader and everything perch does with the rows (collect,
// every preset's and an override's assembly, the merge): no panic, the
// row cap holds, and no NaN or infinite value reaches a sample.
func FuzzResultHandling(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("#datatype,string,long,double\n#group,false,false,false\n#default,p50,,\n,result,table,_value\n,,0,NaN\n"))
	f.Add([]byte("#datatype,string,long,string,string,double\n#group,false,false,true,true,false\n#default,count,,,,\n,result,table,function,namespace,_value\n,,0,f,ns,+Inf\n,,0,,ns,1\n"))
	f.Add([]byte("#datatype,string,string\n#group,true,true\n#default,,\n,error,reference\n,boom,\n"))
	f.Add([]byte(",,,\n#datatype\n"))
	s, err := New(Config{URL: "http://127.0.0.1:1", Bucket: "b", Cluster: "c", MaxSeries: 50,
		Overrides: map[string]string{"latency_p95": "x"}, Clock: func() time.Time { return time.Unix(1_700_000_000, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	plan := []query{
		{name: "latency", preset: PresetInvocations},
		{name: "cloudwatch", preset: PresetCloudWatchLambda},
		{name: "override", override: sources.LatencyP95},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := api.NewQueryTableResult(io.NopCloser(bytes.NewReader(data)))
		rows, _, _ := collect(res, s.cfg.MaxSeries)
		if len(rows) > s.cfg.MaxSeries {
			t.Fatalf("%d rows, cap %d", len(rows), s.cfg.MaxSeries)
		}
		a := s.newAssembly(s.cfg.Clock())
		for _, q := range plan {
			a.add(q, rows)
		}
		wls, samples := a.finish()
		ids := map[sources.WorkloadID]bool{}
		for _, w := range wls {
			if w.ID.Name == "" {
				t.Fatalf("workload without a name: %+v", w)
			}
			ids[w.ID] = true
		}
		for _, smp := range samples {
			if math.IsNaN(smp.V) || math.IsInf(smp.V, 0) {
				t.Fatalf("sample %+v is not finite", smp)
			}
			if !ids[smp.ID] || smp.Metric >= sources.NumMetrics {
				t.Fatalf("sample %+v for an unknown workload or metric", smp)
			}
		}
	})
}
