// Package faultmatrix holds the fault matrix tests: perch's real pipeline
// (a source, store.Feed, the store and root TUI models) runs against a
// server behind internal/faultproxy, and every fault the proxy can inject
// is checked for what perch promises in RELIABILITY.md: the error and
// since when are shown, known rows stay with their last values marked
// stale, the UI keeps rendering, memory stays bounded, and the source
// recovers by itself once the server is healthy again.
//
// Sources: Prometheus (answers recorded from a real Prometheus 2.42,
// replayed), InfluxDB (a real influxd 1.8.3) and Jaeger (a real Jaeger v2,
// asked on demand by the traces page). The real servers are started
// through scripts/stack on first use (in the background as soon as the
// selected tests need them) and stopped by TestMain; a server that cannot
// start fails the tests that need it. The matrices run in parallel; each
// source also goes through 100 fault/recover cycles with a goroutine leak
// check.
//
// The package has only tests; `go test -v` logs each matrix's table and
// TestMain prints the combined one.
package faultmatrix
