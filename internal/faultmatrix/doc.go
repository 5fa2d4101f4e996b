// Package faultmatrix holds the fault matrix tests: perch's real pipeline
// (a source, store.Feed, the store and the root TUI model) runs against a
// server behind internal/faultproxy, and every fault the proxy can inject
// is checked for what perch promises in RELIABILITY.md: the error and
// since when are shown, known rows stay with their last values marked
// stale, the UI keeps rendering, memory stays bounded, and the source
// recovers by itself once the server is healthy again.
//
// The package has only tests; the matrix table is logged by `go test -v`.
package faultmatrix
