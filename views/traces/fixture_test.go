package traces

import (
	"fmt"
	"time"

	"github.com/perch-dev/perch/sources"
)

var t0 = time.Date(2026, 3, 1, 14, 7, 12, 345_000_000, time.UTC)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// span builds a span from millisecond offsets.
func span(id, parent, service, op string, from, to float64, failed bool, tags ...string) sources.Span {
	s := sources.Span{ID: id, ParentID: parent, Service: service, Operation: op,
		Start: t0.Add(ms(from)), Duration: ms(to - from), Error: failed, Tags: map[string]string{}}
	for i := 0; i+1 < len(tags); i += 2 {
		s.Tags[tags[i]] = tags[i+1]
	}
	return s
}

// checkoutTrace is a request during the incident: the bank gateway call
// is slow and fails; cart runs in parallel with catalog and fraud-check
// with payments, so they are off the critical path.
func checkoutTrace() sources.Trace {
	tr := sources.Trace{ID: "4bf92f3577b34da6a3ce929d0e0e4736", Spans: []sources.Span{
		span("a000000000000001", "", "frontend", "GET /checkout", 0, 1920, true, "http.status_code", "502", "resource.k8s.namespace.name", "shop"),
		span("a000000000000002", "a000000000000001", "cart", "GET /cart", 12, 40, false),
		span("a000000000000003", "a000000000000001", "catalog", "GET /products", 10, 70, false),
		span("a000000000000004", "a000000000000001", "checkout", "POST /checkout", 80, 1900, true, "http.status_code", "502"),
		span("a000000000000005", "a000000000000004", "redis", "GET session", 85, 88, false),
		span("a000000000000006", "a000000000000004", "fraud-check", "POST /score", 100, 400, false),
		span("a000000000000007", "a000000000000004", "payments", "POST /charge", 95, 1880, true, "http.status_code", "504"),
		span("a000000000000008", "a000000000000007", "bank-gateway", "POST /v1/charges", 110, 1790, true,
			"peer.service", "bank-gateway", "span.kind", "client", "http.status_code", "504",
			"log#0000", "+1.2s event=retry attempt=2", "log#0001", "+1.68s event=timeout after=1.5s",
			"resource.k8s.namespace.name", "shop"),
		span("a000000000000009", "a000000000000007", "postgres", "INSERT payments", 1800, 1870, false, "db.system", "postgresql"),
		span("a00000000000000a", "a000000000000001", "geoip", "lookup", 1905, 1915, false),
	}}
	tr.Start, tr.Duration, tr.RootService, tr.RootOperation = t0, ms(1920), "frontend", "GET /checkout"
	return tr
}

// quickTrace is a healthy request of n ms.
func quickTrace(i int, total float64) sources.Trace {
	id := fmt.Sprintf("%032x", 0xc0ffee00+i)
	root := fmt.Sprintf("%016x", 0xb000+2*i)
	child := fmt.Sprintf("%016x", 0xb001+2*i)
	at := float64(i) * 20_000
	tr := sources.Trace{ID: id, Spans: []sources.Span{
		span(root, "", "checkout", "POST /checkout", at, at+total, false),
		span(child, root, "payments", "POST /charge", at+5, at+total-5, false),
	}}
	tr.Start, tr.Duration, tr.RootService, tr.RootOperation = t0.Add(ms(at)), ms(total), "checkout", "POST /checkout"
	return tr
}
