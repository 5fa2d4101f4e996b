package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, that every failure is an
// *Error naming the file, and that every success holds the config's
// invariants and decodes its sources without panicking. The seeds (the
// other tests' inputs) also run under plain go test.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Example()))
	f.Add([]byte(fullConfig))
	for _, tt := range errorTests {
		f.Add([]byte(tt.data))
	}
	f.Add([]byte("sources:\n  - &b {type: prometheus, url: http://x, tenants: [a]}\n  - {<<: *b, name: c, timeout: 10s}\n"))
	f.Add([]byte("a: &a [*a, *a]\nsources: [{type: x, tls: *a, headers: *a}]\n"))
	f.Add([]byte("sources:\n  - type: demo\n    tls: {ca_file: 1, insecure_skip_verify: true}\n    headers: {a: b}\n    retries: 0x10\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if e.File != "f.yaml" || !strings.HasPrefix(e.Error(), "f.yaml") {
				t.Fatalf("error without the file: %v", err)
			}
			if cfg.Refresh != DefaultRefresh || cfg.Sources != nil {
				t.Fatalf("config on error is not Default(): %+v", cfg)
			}
			return
		}
		if cfg.Refresh < time.Second || cfg.Theme == "" {
			t.Fatalf("refresh %v, theme %q", cfg.Refresh, cfg.Theme)
		}
		for _, p := range []float64{cfg.Prices.CPUHour, cfg.Prices.GiBHour, cfg.Prices.GPUHour,
			cfg.Prices.LambdaPerMillionRequests, cfg.Prices.LambdaGBSecond} {
			if !(p >= 0) || p > 1e308 {
				t.Fatalf("price %v", p)
			}
		}
		names := map[string]bool{}
		for _, s := range cfg.Sources {
			if s.Type == "" || s.Name == "" || names[s.Name] || s.Line < 1 {
				t.Fatalf("bad source %+v", s)
			}
			names[s.Name] = true
			var b backendConfig
			checkDecodeError(t, s.Decode(&b))
			var m map[string]any
			checkDecodeError(t, s.Decode(&m))
			_ = s.Keys()
			_ = s.Errorf("tls.ca_file", "x")
		}
		_ = cfg.Validate([]string{"demo", "prometheus"}, []string{"dark", "light", "plain"})
	})
}

func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if err != nil && (!errors.As(err, &e) || e.File != "f.yaml" || e.Line < 1) {
		t.Fatalf("Decode error %#v lacks file or line", err)
	}
}
