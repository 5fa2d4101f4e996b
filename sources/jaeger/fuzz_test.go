package jaeger

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/perch-dev/perch/sources"
)

// FuzzDecode feeds arbitrary answers to the v1 and v3 decoders (whole and
// streaming) and the error-message extractor: no panic, whatever decodes
// is a sane trace, and the streaming decoders keep the span cap.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"data":[{"traceID":"1","spans":[{"spanID":"a","startTime":-9223372036854775808,"duration":9223372036854775807,"references":[{"refType":"CHILD_OF","spanID":"a"}],"processID":"p"}],"processes":{}}]}`))
	f.Add([]byte(`{"result":{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[{"traceId":"ff","spanId":"1","startTimeUnixNano":"18446744073709551615","endTimeUnixNano":1,"kind":"SPAN_KIND_CLIENT","status":{"code":"STATUS_CODE_ERROR"},"attributes":[{"key":"k","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"x","value":{"intValue":"-3"}}]}}]}}}]}]}]}]}}`))
	f.Add([]byte(`{"error":{"httpCode":404,"message":"No traces found"}}`))
	f.Add([]byte("\x1b[31m<html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r1 v1Response
		if json.Unmarshal(data, &r1) == nil {
			if trs, err := convertV1(r1.Data); err == nil {
				checkTraces(t, trs)
			}
		}
		var r3 v3Response
		if json.Unmarshal(data, &r3) == nil {
			if trs, err := fromOTLP(r3.Result.ResourceSpans); err == nil {
				checkTraces(t, trs)
			}
		}
		// The streaming decoders: same checks, and the span cap holds.
		var s1 v1Response
		if decodeV1(json.NewDecoder(bytes.NewReader(data)), 50, &s1) == nil {
			if trs, err := convertV1(s1.Data); err == nil {
				checkTraces(t, trs)
				checkSpanCap(t, trs, 50)
			}
		}
		var s3 v3Response
		if decodeV3(json.NewDecoder(bytes.NewReader(data)), 50, &s3) == nil {
			if trs, err := fromOTLP(s3.Result.ResourceSpans); err == nil {
				checkTraces(t, trs)
				checkSpanCap(t, trs, 50)
			}
		}
		msg := serverMessage(data)
		if len([]rune(msg)) > 201 {
			t.Fatalf("message of %d runes", len([]rune(msg)))
		}
		for _, r := range msg {
			if !unicode.IsPrint(r) && r != ' ' {
				t.Fatalf("unprintable %q in message %q", r, msg)
			}
		}
	})
}

func checkTraces(t *testing.T, trs []sources.Trace) {
	for _, tr := range trs {
		if len(tr.ID) != 32 || strings.Trim(tr.ID, "0123456789abcdef") != "" {
			t.Fatalf("trace id %q", tr.ID)
		}
		if tr.Duration < 0 {
			t.Fatalf("trace duration %v", tr.Duration)
		}
		if len(tr.Spans) > 0 && tr.RootService == "" {
			t.Fatal("no root service")
		}
		for _, s := range tr.Spans {
			if s.Duration < 0 || s.ID == "" || s.Service == "" || s.Tags == nil {
				t.Fatalf("span %+v", s)
			}
			if s.Start.Before(tr.Start) {
				t.Fatalf("span starts %v before its trace %v", s.Start, tr.Start)
			}
		}
		_ = tr.HasError()
	}
}

func checkSpanCap(t *testing.T, trs []sources.Trace, max int) {
	n := 0
	for _, tr := range trs {
		n += len(tr.Spans)
	}
	if n > max {
		t.Fatalf("%d spans decoded, cap %d", n, max)
	}
}
