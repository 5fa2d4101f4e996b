package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestVersionProbe(t *testing.T) {
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string // "" = no error
	}{
		{"ok", answer(200, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`), ""},
		{"503", answer(503, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}`), "API server answers HTTP 503 to GET /version"},
		{"401", answer(401, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`), "rejects perch's credentials (HTTP 401"},
		{"502 text", answer(502, "bad gateway\n"), "API server answers HTTP 502 to GET /version"},
		{"403", answer(403, `forbidden`), "forbids perch even GET /version (HTTP 403)"},
		{"garbage", answer(200, "\x00\x17garbage"), "bad answer to GET /version: invalid character"},
		{"truncated", answer(200, `{"major":"1","minor":"37","gitVer`), "bad answer to GET /version: unexpected end of JSON input"},
		{"not a version", answer(200, `{}`), "no gitVersion"},
		{"huge", answer(200, strings.Repeat(" ", 2<<20)), "bad answer to GET /version: answer over max_response_bytes (1 MiB)"},
		{"hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "API server unreachable: context deadline exceeded (GET /version)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
				return &capTransport{next: rt, max: 1 << 20}
			}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err = versionProbe(cs.CoreV1().RESTClient())(ctx)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConnHealthRecord(t *testing.T) {
	var h *connHealth
	if h.failure() != nil {
		t.Fatal("a nil connHealth (fake clients) must report no failure")
	}
	h = newConnHealth(nil)
	if rec, _ := h.record(nil, false); rec {
		t.Error("a first good probe is not a recovery")
	}
	if rec, _ := h.record(io.ErrUnexpectedEOF, false); rec || h.failure() == nil {
		t.Error("a failure must be recorded and is not a recovery")
	}
	if rec, hung := h.record(nil, false); !rec || hung || h.failure() != nil || h.recoveries != 1 {
		t.Errorf("the first good probe after a failure is a recovery: %+v", h)
	}
	h.record(context.DeadlineExceeded, true)
	h.record(io.ErrUnexpectedEOF, false)
	if rec, hung := h.record(nil, false); !rec || !hung {
		t.Error("a failure during which a probe timed out may have left informers stuck")
	}
	if _, hung := h.record(nil, false); hung {
		t.Error("hung must not outlive its recovery")
	}
}

func TestPlainError(t *testing.T) {
	generic := apierrors.NewGenericServerResponse(502, "get", schema.GroupResource{}, "", "faultproxy: injected 502", 0, true)
	// As client-go's watch decoder reports it (clientErrorReporter.AsObject).
	decode := apierrors.FromObject(apierrors.NewClientErrorReporter(500, "GET", "ClientWatchDecoding").
		AsObject(errors.New("unable to decode an event from the watch stream: invalid character 'x'")))
	tooLarge := fmt.Errorf("failed to list *v1.Pod: %w",
		fmt.Errorf("unexpected error when reading response body. Please retry. Original error: %w", &TooLargeError{Path: "/api/v1/pods", Max: 8 << 20}))
	for _, tc := range []struct {
		err  error
		want string
	}{
		{generic, "HTTP 502: faultproxy: injected 502"},
		{decode, "undecodable watch stream: invalid character 'x'"},
		{tooLarge, "answer over max_response_bytes (8 MiB), not read further: GET /api/v1/pods"},
		{io.ErrUnexpectedEOF, "unexpected EOF"},
	} {
		got := plainError(tc.err)
		if got.Error() != tc.want || !errors.Is(got, tc.err) && got != tc.err {
			t.Errorf("plainError(%q) = %q, want %q wrapping the original", tc.err, got, tc.want)
		}
	}
	if got := bodyOf(generic).Error(); got != "faultproxy: injected 502" {
		t.Errorf("bodyOf = %q", got)
	}
}

func TestObserveWatch(t *testing.T) {
	h := newConnHealth(nil)
	c := &cluster{cl: &clients{health: h}, problems: map[string]problem{}}
	s := &scope{def: resources[resPods]}
	s.err = errors.New("from before")

	fw := watch.NewFake()
	w := c.observeWatch(s, fw)
	if err, _ := s.status(); err == nil {
		t.Fatal("answered headers alone must not clear the scope's error")
	}
	go fw.Add(&corev1.Pod{})
	<-w.ResultChan()
	if err, ok := s.status(); err != nil || !ok {
		t.Fatalf("the first event must clear the error: %v, ok=%v", err, ok)
	}
	go fw.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 500, Message: "unable to decode"})
	<-w.ResultChan()
	if err, _ := s.status(); err == nil || !strings.Contains(err.Error(), "unable to decode") {
		t.Fatalf("an error event must be the scope's error: %v", err)
	}
	fw.Stop() // the stream ends without the informer stopping it
	for range w.ResultChan() {
	}
	select {
	case <-h.kick:
	case <-time.After(time.Second):
		t.Fatal("a broken stream must ask for a probe")
	}

	fw2 := watch.NewFake()
	w2 := c.observeWatch(s, fw2)
	w2.Stop()
	for range w2.ResultChan() {
	}
	select {
	case <-h.kick:
		t.Fatal("a watch the informer stopped must not ask for a probe")
	case <-time.After(50 * time.Millisecond):
	}
}
