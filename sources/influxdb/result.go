package influxdb

import (
	"math"
	"strconv"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
)

// row is one record of a query result, reduced to what perch reads.
type row struct {
	result      string // the yield's name
	measurement string
	field       string
	// tags are the tag and group-key columns perch reads (tagColumns),
	// rendered as strings.
	tags map[string]string
	// t is _time, or _stop when the row has no _time (plain aggregates).
	t     time.Time
	value any // _value: float64, int64, uint64, bool, string or nil
}

// tagColumns are the columns perch reads besides the system ones; other
// tags are left out of rows (they would only cost memory).
var tagColumns = []string{tagFunction, tagNamespace, tagRegion, tagPlatform, tagRuntime, tagFunctionName}

// collect reads every record of res (the client's annotated-CSV reader)
// into rows, at most maxRows of them; truncated reports that more were
// left unread. An in-band Flux error (a table with an "error" column) or
// a malformed response is returned as err, with the rows read so far.
// collect always closes res.
func collect(res *api.QueryTableResult, maxRows int) (rows []row, truncated bool, err error) {
	if res == nil {
		return nil, false, nil
	}
	defer func() {
		if truncated {
			// Close the body itself: the library's Close first reads the
			// rest of the answer, which for a capped huge answer means up to
			// the 64 MiB body cap more, and usually the timeout.
			_ = res.Closer.Close()
			return
		}
		_ = res.Close()
	}()
	for res.Next() {
		if len(rows) >= maxRows {
			return rows, true, nil
		}
		rec := res.Record()
		if rec == nil {
			continue
		}
		vals := rec.Values()
		r := row{tags: make(map[string]string, 4)}
		r.result, _ = vals["result"].(string)
		r.measurement, _ = vals["_measurement"].(string)
		r.field, _ = vals["_field"].(string)
		r.value = vals["_value"]
		if t, ok := vals["_time"].(time.Time); ok {
			r.t = t
		} else if t, ok := vals["_stop"].(time.Time); ok {
			r.t = t
		}
		for _, k := range tagColumns {
			if v, ok := vals[k]; ok && v != nil {
				if s, ok := asString(v); ok {
					r.tags[k] = s
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, false, res.Err()
}

// asString renders scalar column values; times and bytes are not tags.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

// number converts a _value to float64; false for null, NaN, ±Inf and
// non-numeric values (a string _value is never guessed at).
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case bool:
		if x {
			f = 1
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
