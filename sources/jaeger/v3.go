package jaeger

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/perch-dev/perch/sources"
)

// The v3 query API answers with OTLP JSON (ExportTraceServiceRequest)
// wrapped in {"result": ...}; spans of many traces come mixed.

type v3Response struct {
	Result struct {
		ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	} `json:"result"`
}

type v3Services struct {
	Services []string `json:"services"`
}

type otlpResourceSpans struct {
	Resource struct {
		Attributes []otlpKeyValue `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
}

type otlpScopeSpans struct {
	Spans []otlpSpan `json:"spans"`
}

type otlpSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      string         `json:"parentSpanId"`
	Name              string         `json:"name"`
	Kind              otlpEnum       `json:"kind"`
	StartTimeUnixNano otlpUint64     `json:"startTimeUnixNano"`
	EndTimeUnixNano   otlpUint64     `json:"endTimeUnixNano"`
	Attributes        []otlpKeyValue `json:"attributes"`
	Events            []struct {
		TimeUnixNano otlpUint64     `json:"timeUnixNano"`
		Name         string         `json:"name"`
		Attributes   []otlpKeyValue `json:"attributes"`
	} `json:"events"`
	Status struct {
		Code    otlpEnum `json:"code"`
		Message string   `json:"message"`
	} `json:"status"`
}

type otlpKeyValue struct {
	Key   string       `json:"key"`
	Value otlpAnyValue `json:"value"`
}

type otlpAnyValue struct {
	StringValue *string    `json:"stringValue"`
	BoolValue   *bool      `json:"boolValue"`
	IntValue    *otlpInt64 `json:"intValue"`
	DoubleValue *float64   `json:"doubleValue"`
	BytesValue  *string    `json:"bytesValue"`
	ArrayValue  *struct {
		Values []otlpAnyValue `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []otlpKeyValue `json:"values"`
	} `json:"kvlistValue"`
}

// maxValueDepth bounds nested arrays/maps when rendering (hostile input).
const maxValueDepth = 8

func (v otlpAnyValue) text(depth int) string {
	switch {
	case depth > maxValueDepth:
		return "…"
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return strconv.FormatBool(*v.BoolValue)
	case v.IntValue != nil:
		return strconv.FormatInt(int64(*v.IntValue), 10)
	case v.DoubleValue != nil:
		return strconv.FormatFloat(*v.DoubleValue, 'g', -1, 64)
	case v.BytesValue != nil:
		if b, err := base64.StdEncoding.DecodeString(*v.BytesValue); err == nil {
			return fmt.Sprintf("%x", b)
		}
		return *v.BytesValue
	case v.ArrayValue != nil:
		parts := make([]string, len(v.ArrayValue.Values))
		for i, x := range v.ArrayValue.Values {
			parts[i] = x.text(depth + 1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case v.KvlistValue != nil:
		parts := make([]string, len(v.KvlistValue.Values))
		for i, kv := range v.KvlistValue.Values {
			parts[i] = kv.Key + "=" + kv.Value.text(depth+1)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return ""
}

// otlpUint64 is a uint64 written as a JSON string (proto3 JSON) or number.
type otlpUint64 uint64

func (n *otlpUint64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("bad uint64 %s", clip(s))
	}
	*n = otlpUint64(v)
	return nil
}

// otlpInt64 is an int64 written as a JSON string or number.
type otlpInt64 int64

func (n *otlpInt64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("bad int64 %s", clip(s))
	}
	*n = otlpInt64(v)
	return nil
}

// otlpEnum is a proto enum written as a number or as its name.
type otlpEnum int

var enumNames = map[string]int{
	"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
	"SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
	"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2,
}

func (e *otlpEnum) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, ok := enumNames[s]
		if !ok {
			return fmt.Errorf("unknown enum value %s", clip(s))
		}
		*e = otlpEnum(v)
		return nil
	}
	if string(b) == "null" {
		*e = 0
		return nil
	}
	v, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("bad enum %s", clip(string(b)))
	}
	*e = otlpEnum(v)
	return nil
}

var spanKinds = [...]string{"", "internal", "server", "client", "producer", "consumer"}

const statusError = 2

// fromOTLP groups OTLP resource spans into traces, in order of first
// appearance.
func fromOTLP(rss []otlpResourceSpans) ([]sources.Trace, error) {
	byID := map[string]int{}
	var out []sources.Trace
	for _, rs := range rss {
		service := "unknown"
		resource := make(map[string]string, len(rs.Resource.Attributes))
		for _, kv := range rs.Resource.Attributes {
			v := kv.Value.text(0)
			resource[ResourceTagPrefix+kv.Key] = v
			if kv.Key == "service.name" && v != "" {
				service = v
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if !validTraceID(s.TraceID) {
					return nil, fmt.Errorf("span with an invalid traceId %q", clip(s.TraceID))
				}
				if s.SpanID == "" {
					return nil, fmt.Errorf("trace %s: a span without spanId", normTraceID(s.TraceID))
				}
				id := normTraceID(s.TraceID)
				i, ok := byID[id]
				if !ok {
					i = len(out)
					byID[id] = i
					out = append(out, sources.Trace{ID: id})
				}
				out[i].Spans = append(out[i].Spans, otlpToSpan(s, service, resource))
			}
		}
	}
	for i := range out {
		finishTrace(&out[i])
	}
	return out, nil
}

func otlpToSpan(s otlpSpan, service string, resource map[string]string) sources.Span {
	start := time.Unix(0, int64(min(uint64(s.StartTimeUnixNano), 1<<63-1))).UTC()
	end := time.Unix(0, int64(min(uint64(s.EndTimeUnixNano), 1<<63-1))).UTC()
	sp := sources.Span{
		ID: strings.ToLower(s.SpanID), ParentID: strings.ToLower(s.ParentSpanID),
		Service: service, Operation: s.Name, Start: start, Duration: max(end.Sub(start), 0),
		Tags: make(map[string]string, len(resource)+len(s.Attributes)+2),
	}
	for k, v := range resource {
		sp.Tags[k] = v
	}
	for _, kv := range s.Attributes {
		v := kv.Value.text(0)
		sp.Tags[kv.Key] = v
		if isErrorTag(kv.Key, v) {
			sp.Error = true
		}
	}
	if k := int(s.Kind); k > 0 && k < len(spanKinds) {
		if _, set := sp.Tags["span.kind"]; !set {
			sp.Tags["span.kind"] = spanKinds[k]
		}
	}
	if s.Status.Code == statusError {
		sp.Error = true
		sp.Tags["otel.status_code"] = "ERROR"
		if s.Status.Message != "" {
			sp.Tags["otel.status_description"] = s.Status.Message
		}
	}
	evs := s.Events
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].TimeUnixNano < evs[j].TimeUnixNano })
	for i, ev := range evs {
		fields := make([][2]string, len(ev.Attributes))
		for j, kv := range ev.Attributes {
			fields[j] = [2]string{kv.Key, kv.Value.text(0)}
		}
		logTag(sp.Tags, i, start, time.Unix(0, int64(min(uint64(ev.TimeUnixNano), 1<<63-1))).UTC(), ev.Name, fields)
	}
	return sp
}
