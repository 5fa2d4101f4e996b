package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Body generates a large, valid response without holding it in memory.
type Body struct {
	// Name describes the body in Mode.String, e.g. "prometheus vector 100000 series".
	Name        string
	ContentType string
	// Write streams the body to w and returns the first write error.
	Write func(w io.Writer) error
}

// errWriter remembers the first write error, so a generator stops as soon
// as the client has gone away.
type errWriter struct {
	w   *bufio.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) str(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *errWriter) flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// PrometheusVector answers an instant query (/api/v1/query) with n series
// of about 500 bytes each, shaped like perch's aggregated queries (labels
// namespace, workload, workload_kind, perch_metric) plus the pod-level
// labels a careless query drags along. 100,000 series are about 50 MB.
func PrometheusVector(n int, at time.Time) Body {
	metrics := []string{"replicas_current", "replicas_desired", "replicas_ready", "cpu_usage", "memory_usage"}
	ts := strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	return Body{
		Name:        fmt.Sprintf("prometheus vector %d series", n),
		ContentType: "application/json",
		Write: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 64<<10)
			if _, err := bw.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`); err != nil {
				return err
			}
			line := make([]byte, 0, 1024)
			for i := range n {
				// Appends, not Fprintf: the generator must outrun the client.
				line = line[:0]
				if i > 0 {
					line = append(line, ',')
				}
				line = append(line, `{"metric":{"__name__":"kube_pod_container_info","container":"app-`...)
				line = strconv.AppendInt(line, int64(i%7), 10)
				line = append(line, `","container_id":"containerd://`...)
				line = appendHex(line, uint64(i)*0x9e3779b97f4a7c15, 64)
				line = append(line, `","image":"registry.example/team/app:sha-`...)
				line = appendHex(line, uint64(i)*0xbf58476d1ce4e5b9, 12)
				line = append(line, `","instance":"10.`...)
				line = strconv.AppendInt(line, int64(i>>16&255), 10)
				line = append(line, '.')
				line = strconv.AppendInt(line, int64(i>>8&255), 10)
				line = append(line, '.')
				line = strconv.AppendInt(line, int64(i&255), 10)
				line = append(line, `:8080","job":"kube-state-metrics","namespace":"ns-`...)
				line = strconv.AppendInt(line, int64(i%50), 10)
				line = append(line, `","perch_metric":"`...)
				line = append(line, metrics[i%len(metrics)]...)
				line = append(line, `","pod":"w-`...)
				line = strconv.AppendInt(line, int64(i), 10)
				line = append(line, '-')
				line = appendHex(line, uint64(i)*0x94d049bb133111eb, 10)
				line = append(line, `","uid":"`...)
				line = appendHex(line, uint64(i)*0xd6e8feb86659fd93, 32)
				line = append(line, `","workload":"w-`...)
				line = strconv.AppendInt(line, int64(i), 10)
				line = append(line, `","workload_kind":"Deployment"},"value":[`...)
				line = append(line, ts...)
				line = append(line, `,"`...)
				line = strconv.AppendInt(line, int64(1+i%9), 10)
				line = append(line, `"]}`...)
				if _, err := bw.Write(line); err != nil {
					return err
				}
			}
			if _, err := bw.WriteString(`]}}`); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
}

// appendHex appends n hex digits derived from x (repeating it as needed).
func appendHex(b []byte, x uint64, n int) []byte {
	const digits = "0123456789abcdef"
	for i := range n {
		b = append(b, digits[(x>>(uint(i%16)*4))&15])
	}
	return b
}

// FluxCSV is a Flux query answer (annotated CSV, as InfluxDB's /api/v2/query
// returns it) with n rows of 100 points per table (one table per series).
func FluxCSV(n int, at time.Time) Body {
	const perTable = 100
	start := at.Add(-time.Hour).UTC().Format(time.RFC3339)
	stop := at.UTC().Format(time.RFC3339)
	return Body{
		Name:        fmt.Sprintf("flux csv %d rows", n),
		ContentType: "text/csv; charset=utf-8",
		Write: func(w io.Writer) error {
			e := &errWriter{w: bufio.NewWriterSize(w, 64<<10)}
			e.str("#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string\r\n")
			e.str("#group,false,false,true,true,false,false,true,true,true,true\r\n")
			e.str("#default,_result,,,,,,,,,\r\n")
			e.str(",result,table,_start,_stop,_time,_value,_field,_measurement,namespace,function\r\n")
			for i := 0; i < n && e.err == nil; i++ {
				table := i / perTable
				t := at.Add(-time.Duration(perTable-i%perTable) * time.Second).UTC().Format(time.RFC3339)
				e.printf(",,%d,%s,%s,%s,%d.%03d,duration_seconds,invocations,ns-%d,fn-%d\r\n",
					table, start, stop, t, i%7, i%1000, table%50, table)
			}
			e.str("\r\n")
			return e.flush()
		},
	}
}

// JSONArray is a JSON array of objects totalling at least size bytes.
func JSONArray(size int64) Body {
	pad := strings.Repeat("x", 200)
	return Body{
		Name:        fmt.Sprintf("json array %d B", size),
		ContentType: "application/json",
		Write: func(w io.Writer) error {
			e := &errWriter{w: bufio.NewWriterSize(w, 64<<10)}
			e.str("[")
			var written int64 = 1
			for i := 0; written < size && e.err == nil; i++ {
				s := fmt.Sprintf(`{"i":%d,"pad":%q}`, i, pad)
				if i > 0 {
					s = "," + s
				}
				e.str(s)
				written += int64(len(s))
			}
			e.str("]")
			return e.flush()
		},
	}
}
