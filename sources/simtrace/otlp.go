// Package simtrace feeds the simulator's traces to a real trace backend
// (Jaeger, an OpenTelemetry Collector) as OTLP/JSON over HTTP, so the
// traces perch shows from Jaeger are the simulator's, consistent with its
// latency model: during the daily incident window the payments service's
// bank-gateway call is slow and fails more often, and that shows in the
// spans.
//
// OTLP/JSON (POST /v1/traces, Content-Type application/json) needs no
// dependency beyond the standard library; it is the same protocol the
// OpenTelemetry SDK's otlptracehttp exporter speaks in protobuf.
//
// This is a demo/test feeder that writes to a backend; perch's sources
// never write.
package simtrace

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/perch-dev/perch/sources"
)

// ScopeName is the instrumentation scope of the spans sent.
const ScopeName = "github.com/perch-dev/perch/sources/simtrace"

// OTLP/JSON (ExportTraceServiceRequest) as written on the wire.
type (
	exportRequest struct {
		ResourceSpans []resourceSpans `json:"resourceSpans"`
	}
	resourceSpans struct {
		Resource   resource     `json:"resource"`
		ScopeSpans []scopeSpans `json:"scopeSpans"`
	}
	resource struct {
		Attributes []keyValue `json:"attributes"`
	}
	scopeSpans struct {
		Scope scope  `json:"scope"`
		Spans []span `json:"spans"`
	}
	scope struct {
		Name string `json:"name"`
	}
	span struct {
		TraceID           string     `json:"traceId"`
		SpanID            string     `json:"spanId"`
		ParentSpanID      string     `json:"parentSpanId,omitempty"`
		Name              string     `json:"name"`
		Kind              int        `json:"kind"`
		StartTimeUnixNano string     `json:"startTimeUnixNano"`
		EndTimeUnixNano   string     `json:"endTimeUnixNano"`
		Attributes        []keyValue `json:"attributes,omitempty"`
		Status            *status    `json:"status,omitempty"`
	}
	status struct {
		Code    int    `json:"code"`
		Message string `json:"message,omitempty"`
	}
	keyValue struct {
		Key   string   `json:"key"`
		Value anyValue `json:"value"`
	}
	anyValue struct {
		StringValue string `json:"stringValue"`
	}
)

// OTLP enums.
const (
	kindServer  = 2
	kindClient  = 3
	statusError = 2
)

// Encode renders traces as one OTLP/JSON export request: one resource per
// service (service.name, and for services that are workloads
// k8s.namespace.name and k8s.cluster.name), the sim's span tags as
// attributes, error spans with status ERROR. workloads maps service names
// to workloads; it may be nil.
func Encode(traces []sources.Trace, workloads map[string]sources.Workload) ([]byte, error) {
	byService := map[string][]span{}
	namespaces := map[string]string{} // from the sim's k8s.namespace tag
	for _, tr := range traces {
		if !validHexID(tr.ID, 32) {
			return nil, fmt.Errorf("simtrace: trace id %q is not 32 hex digits", tr.ID)
		}
		for _, s := range tr.Spans {
			if !validHexID(s.ID, 16) || (s.ParentID != "" && !validHexID(s.ParentID, 16)) {
				return nil, fmt.Errorf("simtrace: trace %s: span id %q or parent %q is not 16 hex digits", tr.ID, s.ID, s.ParentID)
			}
			if s.Duration < 0 {
				return nil, fmt.Errorf("simtrace: trace %s: span %s has a negative duration", tr.ID, s.ID)
			}
			out := span{
				TraceID: tr.ID, SpanID: s.ID, ParentSpanID: s.ParentID, Name: s.Operation, Kind: kindServer,
				StartTimeUnixNano: strconv.FormatInt(s.Start.UnixNano(), 10),
				EndTimeUnixNano:   strconv.FormatInt(s.Start.Add(s.Duration).UnixNano(), 10),
			}
			keys := make([]string, 0, len(s.Tags))
			for k := range s.Tags {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				switch k {
				case "k8s.namespace": // a resource attribute in OTel terms
					continue
				case "span.kind":
					if s.Tags[k] == "client" {
						out.Kind = kindClient
					}
					continue
				}
				out.Attributes = append(out.Attributes, keyValue{Key: k, Value: anyValue{StringValue: s.Tags[k]}})
			}
			if s.Error {
				msg := "error"
				if c := s.Tags["http.status_code"]; c != "" {
					msg = "HTTP " + c
				}
				out.Status = &status{Code: statusError, Message: msg}
			}
			service := s.Service
			if service == "" {
				service = "unknown"
			}
			if ns := s.Tags["k8s.namespace"]; ns != "" {
				namespaces[service] = ns
			}
			byService[service] = append(byService[service], out)
		}
	}
	services := make([]string, 0, len(byService))
	for svc := range byService {
		services = append(services, svc)
	}
	sort.Strings(services)
	req := exportRequest{ResourceSpans: make([]resourceSpans, 0, len(services))}
	for _, svc := range services {
		attrs := []keyValue{{Key: "service.name", Value: anyValue{StringValue: svc}}}
		ns, cluster := namespaces[svc], ""
		if w, ok := workloads[svc]; ok {
			ns, cluster = w.ID.Namespace, w.ID.Cluster
		}
		if ns != "" {
			attrs = append(attrs, keyValue{Key: "k8s.namespace.name", Value: anyValue{StringValue: ns}})
		}
		if cluster != "" {
			attrs = append(attrs, keyValue{Key: "k8s.cluster.name", Value: anyValue{StringValue: cluster}})
		}
		req.ResourceSpans = append(req.ResourceSpans, resourceSpans{
			Resource:   resource{Attributes: attrs},
			ScopeSpans: []scopeSpans{{Scope: scope{Name: ScopeName}, Spans: byService[svc]}},
		})
	}
	return json.Marshal(req)
}

// validHexID reports whether id is n hex digits and not all zero (OTLP
// treats an all-zero id as invalid).
func validHexID(id string, n int) bool {
	if len(id) != n {
		return false
	}
	b, err := hex.DecodeString(id)
	if err != nil {
		return false
	}
	for _, x := range b {
		if x != 0 {
			return true
		}
	}
	return false
}
