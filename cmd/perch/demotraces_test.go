package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDemoTraces(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		io.Copy(io.Discard, r.Body)
		posts.Add(1)
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	e := env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if err := runDemoTraces(context.Background(), e, []string{"--otlp", srv.URL, "--once", "--backfill", "6m", "--per-workload", "2"}); err != nil {
		t.Fatal(err)
	}
	if posts.Load() < 2 || !strings.Contains(out.String(), "traces,") {
		t.Errorf("%d posts, output %q", posts.Load(), out.String())
	}
	for _, args := range [][]string{
		{},
		{"--otlp", srv.URL, "--interval", "1ms"},
		{"--otlp", srv.URL, "--per-workload", "0"},
		{"--otlp", "not a url"},
		{"--otlp", srv.URL, "stray"},
	} {
		err := runDemoTraces(context.Background(), e, args)
		if !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	srv.Close()
	err := runDemoTraces(context.Background(), e, []string{"--otlp", srv.URL, "--once", "--backfill", "1m", "--quiet"})
	if err == nil || !strings.Contains(err.Error(), "sending spans") {
		t.Errorf("receiver down: %v", err)
	}
}
