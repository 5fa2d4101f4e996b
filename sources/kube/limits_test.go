package kube

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestCapTransport(t *testing.T) {
	const limit = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("watch") == "true" {
			w.Header().Set("Content-Type", "application/json;stream=watch")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		if r.URL.Query().Get("length") == "1" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		_, _ = io.WriteString(w, strings.Repeat("x", n))
	}))
	defer srv.Close()
	c := &http.Client{Transport: &capTransport{next: http.DefaultTransport, max: limit}}
	for _, tc := range []struct {
		query   string
		wantErr bool
	}{
		{"n=1000", false},                     // exactly the limit
		{"n=1001", true},                      // one byte more, streamed
		{"n=5000&length=1", true},             // announced too large
		{"n=1000&length=1", false},            // announced exactly
		{"n=5000&watch=true", false},          // a watch stream is not capped
		{"n=5000&watch=true&length=1", false}, // …whatever its length
	} {
		resp, err := c.Get(srv.URL + "/api/v1/pods?" + tc.query)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.query, err, tc.wantErr)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "answer over max_response_bytes (1000 B)") {
			t.Errorf("%s: err = %v does not say what the cap is", tc.query, err)
		}
		if err == nil && len(body) != len(strings.Repeat("x", 1000)) && !strings.Contains(tc.query, "watch") {
			t.Errorf("%s: read %d bytes", tc.query, len(body))
		}
		if !tc.wantErr && err != nil {
			t.Errorf("%s: %v", tc.query, err)
		}
	}
}

func TestBytesText(t *testing.T) {
	for n, want := range map[int64]string{256 << 20: "256 MiB", 1 << 30: "1 GiB", 8 << 10: "8 KiB", 999: "999 B"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
}
