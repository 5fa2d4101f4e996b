package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
)

const fullConfig = `# perch configuration
refresh: 1m30s
theme: dark
prices:
  name: on-prem
  cpu_hour: 0.05
  gib_hour: 0.01
  gpu_hour: 2
  lambda_per_million_requests: 0.25
  lambda_gb_second: 0.00002
common: &common
sources:
  - type: demo
    seed: 1
  - type: prometheus
    name: prod
    url: http://127.0.0.1:9090
  - name: staging
    type: prometheus
    url: http://10.0.0.1:9090
`

func TestParseFull(t *testing.T) {
	// fullConfig has one stray key; the valid config is the rest of it.
	data := strings.Replace(fullConfig, "common: &common\n", "", 1)
	cfg, err := Parse("perch.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != "perch.yaml" || cfg.Refresh != 90*time.Second || cfg.Theme != "dark" {
		t.Errorf("path, refresh, theme = %q, %v, %q", cfg.Path, cfg.Refresh, cfg.Theme)
	}
	// Keys the file sets override the defaults; the rest keep them.
	wantPrices := cost.Defaults()
	wantPrices.Name, wantPrices.CPUHour, wantPrices.GiBHour, wantPrices.GPUHour = "on-prem", 0.05, 0.01, 2
	wantPrices.LambdaPerMillionRequests, wantPrices.LambdaGBSecond = 0.25, 0.00002
	if !cfg.Prices.Equal(wantPrices) {
		t.Errorf("prices = %+v, want %+v", cfg.Prices, wantPrices)
	}
	type src struct {
		Type, Name string
		Line       int
		Keys       []string
	}
	want := []src{
		{"demo", "demo", 12, []string{"seed"}},
		{"prometheus", "prod", 14, []string{"url"}},
		{"prometheus", "staging", 17, []string{"url"}},
	}
	var got []src
	for _, s := range cfg.Sources {
		got = append(got, src{s.Type, s.Name, s.Line, s.Keys()})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sources = %+v\nwant %+v", got, want)
	}
	var settings struct {
		URL string `yaml:"url"`
	}
	if err := cfg.Sources[2].Decode(&settings); err != nil || settings.URL != "http://10.0.0.1:9090" {
		t.Errorf("Decode = %v, %+v", err, settings)
	}
	if err := cfg.Validate([]string{"demo", "prometheus"}, []string{"dark", "light", "plain"}); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseDefaults(t *testing.T) {
	def := Default()
	if def.Path != "" || def.Refresh != 15*time.Second || def.Theme != "auto" || def.Prices != cost.Defaults() || def.Sources != nil {
		t.Fatalf("Default() = %+v", def)
	}
	tests := []struct {
		name, data string
		want       Config
	}{
		{"empty", "", def},
		{"comments only", "# nothing here\n\n", def},
		{"document marker only", "---\n", def},
		{"null document", "~\n", def},
		{"null values keep defaults", "refresh:\ntheme:\nprices:\nsources:\n", def},
		{"empty theme is auto", "theme: ''\n", def},
		{"trailing empty document", "refresh: 15s\n---\n", def},
		{"prices partly set", "prices:\n  gpu_hour: 1.5\n", func() Config {
			c := def
			c.Prices.GPUHour, c.Prices.Name = 1.5, "custom"
			return c
		}()},
		{"refresh minimum", "refresh: 1s\n", func() Config { c := def; c.Refresh = time.Second; return c }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("p.yaml", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got.Path != "p.yaml" {
				t.Errorf("Path = %q", got.Path)
			}
			if got.Refresh != tt.want.Refresh || got.Theme != tt.want.Theme || got.Prices != tt.want.Prices || len(got.Sources) != 0 {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// errorTests are Parse errors with their exact text; the fuzz test uses
// their inputs as seeds.
var errorTests = []struct {
	name, data, want string
}{
	{"yaml syntax", "refresh: 15s\ntheme: [dark\n",
		`perch.yaml:2: invalid YAML: did not find expected ',' or ']'`},
	{"yaml syntax on line 1", "]\n",
		`perch.yaml:1: invalid YAML: did not find expected node content`},
	{"yaml block after mapping", "refresh: 15s\n- dark\n",
		`perch.yaml:2: invalid YAML: did not find expected key`},
	{"yaml nested flow", "sources:\n  - type: demo\n    tenants: [a,\n  - type: demo\n",
		`perch.yaml:4: invalid YAML: did not find expected node content`},
	{"yaml end of file", "refresh: 15s\ntheme: [dark,",
		`perch.yaml:2: invalid YAML: did not find expected node content`},
	{"yaml bad escape", "refresh: 15s\ntheme: \"\\q\"\n",
		`perch.yaml:2: invalid YAML: found unknown escape character`},
	{"yaml bad escape line 1", "theme: \"\\q\"\n",
		`perch.yaml:1: invalid YAML: found unknown escape character`},
	{"yaml unknown anchor", "refresh: 15s\nsources:\n  - *demo\n",
		`perch.yaml:3: invalid YAML: unknown anchor 'demo' referenced`},
	{"tab indentation", "prices:\n\tcpu_hour: 1\n",
		`perch.yaml:2: invalid YAML: found character that cannot start any token`},
	{"top level not a mapping", "- refresh\n",
		`perch.yaml:1: the file must be a mapping of keys (prices, refresh, sources, theme)`},
	{"unknown key with suggestion", "theme: dark\nrefersh: 15s\n",
		`perch.yaml:2: refersh: unknown key, did you mean "refresh"?`},
	{"unknown key without suggestion", "colours: pink\n",
		`perch.yaml:1: colours: unknown key (known keys: prices, refresh, sources, theme)`},
	{"duplicate key", "theme: dark\ntheme: light\n",
		`perch.yaml:2: theme: duplicate key (first at line 1)`},
	{"refresh not a duration", "refresh: abc\n",
		`perch.yaml:1: refresh: must be a duration like 15s or 1m30s`},
	{"refresh without unit", "refresh: 15\n",
		`perch.yaml:1: refresh: must be a duration like 15s or 1m30s`},
	{"refresh a list", "refresh: [15s]\n",
		`perch.yaml:1: refresh: must be a duration like 15s or 1m30s`},
	{"refresh too short", "refresh: 500ms\n",
		`perch.yaml:1: refresh: must be at least 1s`},
	{"theme not a string", "theme: 3\n",
		`perch.yaml:1: theme: must be a string (auto, dark, light or plain)`},
	{"prices not a mapping", "prices: cheap\n",
		`perch.yaml:1: prices: must be a mapping of prices (cpu_hour: 0.03, ...)`},
	{"price not a number", "prices:\n  gib_hour: 0.1\n  cpu_hour: \"x\"\n",
		`perch.yaml:3: prices.cpu_hour: must be a number`},
	{"price quoted number", "prices:\n  cpu_hour: '0.5'\n",
		`perch.yaml:2: prices.cpu_hour: must be a number`},
	{"price negative", "prices:\n  gpu_hour: -1\n",
		`perch.yaml:2: prices.gpu_hour: must not be negative`},
	{"price infinite", "prices:\n  gpu_hour: .inf\n",
		`perch.yaml:2: prices.gpu_hour: must be a finite number`},
	{"price unknown key", "prices:\n  cpu_hours: 1\n",
		`perch.yaml:2: prices.cpu_hours: unknown key, did you mean "cpu_hour"?`},
	{"price camel case", "prices:\n  gibHour: 1\n",
		`perch.yaml:2: prices.gibHour: unknown key, did you mean "gib_hour"?`},
	{"sources not a list", "sources:\n  type: demo\n",
		`perch.yaml:2: sources: must be a list of sources (- type: ...)`},
	{"source not a mapping", "sources:\n  - type: demo\n  - demo\n",
		`perch.yaml:3: sources[1]: must be a mapping with at least a type: key`},
	{"source without type", "sources:\n  - type: demo\n  - name: x\n    seed: 1\n",
		`perch.yaml:3: sources[1].type: is required (the kind of source, e.g. type: demo)`},
	{"missing type beats later errors", "sources:\n  - name: x\n    name: y\n",
		`perch.yaml:2: sources[0].type: is required (the kind of source, e.g. type: demo)`},
	{"source type not a string", "sources:\n  - type: [demo]\n",
		`perch.yaml:2: sources[0].type: must be a string`},
	{"source type empty", "sources:\n  - type: ''\n",
		`perch.yaml:2: sources[0].type: must not be empty`},
	{"source name not a string", "sources:\n  - type: demo\n    name: {a: b}\n",
		`perch.yaml:3: sources[0].name: must be a string`},
	{"source duplicate setting", "sources:\n  - type: demo\n    seed: 1\n    seed: 2\n",
		`perch.yaml:4: sources[0].seed: duplicate key (first at line 3)`},
	{"duplicate source names", "sources:\n  - type: prometheus\n    name: prod\n  - type: demo\n  - type: influxdb\n    name: prod\n",
		`perch.yaml:6: sources[2].name: duplicate source name (first at line 2); give each source a unique name:`},
	{"duplicate default names", "sources:\n  - type: demo\n  - type: demo\n",
		`perch.yaml:3: sources[1].name: duplicate source name (first at line 2); give each source a unique name:`},
	{"first error in file order", "refresh: abc\ncolours: pink\ntheme: dark\ntheme: light\n",
		`perch.yaml:1: refresh: must be a duration like 15s or 1m30s`},
	{"second document", "refresh: 15s\n---\ntheme: dark\n",
		`perch.yaml:3: only one YAML document is allowed (remove the second ---)`},
	{"bad merge", "sources:\n  - type: demo\n    <<: 3\n",
		`perch.yaml:3: sources[0].<<: a merge must name a mapping or a list of mappings`},
	{"alias cycle", "sources: &s [*s]\n",
		`perch.yaml:1: sources[0]: must be a mapping with at least a type: key`},
	{"merge cycle", "sources:\n  - &m\n    type: demo\n    <<: *m\n",
		`perch.yaml:2: sources[0]: merges nested too deeply`},
	{"non-string key", "[a]: 1\n",
		`perch.yaml:1: keys must be plain strings`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("perch.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "perch.yaml" || e.Line == 0 {
				t.Errorf("error %#v is not an *Error with file and line", err)
			}
			if cfg.Refresh != DefaultRefresh || cfg.Sources != nil {
				t.Errorf("config on error = %+v, want Default()", cfg)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{"a.yaml", 3, "prices.cpu_hour", "must be a number"}, "a.yaml:3: prices.cpu_hour: must be a number"},
		{Error{"a.yaml", 0, "theme", "bad"}, "a.yaml: theme: bad"},
		{Error{"", 3, "theme", "bad"}, "line 3: theme: bad"},
		{Error{"", 0, "theme", "bad"}, "theme: bad"},
		{Error{"a.yaml", 2, "", "invalid YAML: x"}, "a.yaml:2: invalid YAML: x"},
		{Error{"", 0, "", "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestParseWithoutPath(t *testing.T) {
	_, err := Parse("", []byte("refersh: 15s\n"))
	if want := `line 1: refersh: unknown key, did you mean "refresh"?`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	types := []string{"demo", "prometheus", "influxdb"}
	themes := []string{"dark", "light", "plain"}
	tests := []struct {
		name, data string
		types      []string
		want       string
	}{
		{"valid", "theme: light\nsources:\n  - type: demo\n", types, ""},
		{"auto theme", "theme: auto\n", types, ""},
		{"unknown type", "sources:\n  - type: demo\n  - name: prod\n    type: promethues\n", types,
			`perch.yaml:4: sources[1].type: unknown source type "promethues" (known: demo, influxdb, prometheus), did you mean "prometheus"?`},
		{"unknown type, no suggestion", "sources:\n  - type: zipkin\n", types,
			`perch.yaml:2: sources[0].type: unknown source type "zipkin" (known: demo, influxdb, prometheus)`},
		{"unknown theme", "refresh: 10s\ntheme: drak\n", types,
			`perch.yaml:2: theme: unknown theme "drak" (known: auto, dark, light, plain), did you mean "dark"?`},
		{"first in file order", "sources:\n  - type: zipkin\ntheme: neon\n", types,
			`perch.yaml:2: sources[0].type: unknown source type "zipkin" (known: demo, influxdb, prometheus)`},
		{"nil types skips the type check", "sources:\n  - type: zipkin\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("perch.yaml", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate(tt.types, themes)
			if got := errString(err); got != tt.want {
				t.Errorf("Validate\n got: %s\nwant: %s", got, tt.want)
			}
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Errorf("%T is not *Error", err)
			}
		})
	}
	t.Run("programmatic config", func(t *testing.T) {
		cfg := Default()
		cfg.Refresh = 0
		if got, want := errString(cfg.Validate(nil, nil)), "refresh: must be at least 1s"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/perch/config.yaml"},
		{"home", map[string]string{"HOME": "/home/u"}, "/home/u/.config/perch/config.yaml"},
		{"relative xdg ignored", map[string]string{"XDG_CONFIG_HOME": "xdg", "HOME": "/home/u"}, "/home/u/.config/perch/config.yaml"},
		{"userprofile", map[string]string{"USERPROFILE": "/users/u"}, "/users/u/.config/perch/config.yaml"},
		{"nothing", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultPath(func(k string) string { return tt.env[k] })
			if got != filepath.FromSlash(tt.want) {
				t.Errorf("DefaultPath = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("refresh: 30s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil || cfg.Refresh != 30*time.Second || cfg.Path != path {
		t.Errorf("Load = %+v, %v", cfg, err)
	}

	cfg, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if cfg.Refresh != DefaultRefresh || cfg.Theme != DefaultTheme {
		t.Errorf("missing file: config = %+v, want Default()", cfg)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("theme: dark\nrefresh: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if want := bad + ":2: refresh: must be a duration like 15s or 1m30s"; errString(err) != want {
		t.Errorf("Load(bad) = %v, want %s", err, want)
	}
}

func TestExample(t *testing.T) {
	cfg, err := Parse("example.yaml", []byte(Example()))
	if err != nil {
		t.Fatalf("Parse(Example()): %v", err)
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].Type != "demo" || cfg.Prices != cost.Defaults() {
		t.Errorf("example config = %+v", cfg)
	}

	// Uncommenting every commented-out block still gives a valid file,
	// with the default prices and one source per backend.
	var lines []string
	for _, l := range strings.Split(Example(), "\n") {
		if rest, ok := strings.CutPrefix(l, "  # "); ok && (strings.HasPrefix(rest, "- ") || strings.HasPrefix(rest, "  ")) {
			l = "  " + rest
		}
		if rest, ok := strings.CutPrefix(l, "# "); ok && (rest == "prices:" || strings.HasPrefix(rest, "  ")) {
			l = rest
		}
		lines = append(lines, l)
	}
	uncommented := strings.Join(lines, "\n")
	cfg, err = Parse("example.yaml", []byte(uncommented))
	if err != nil {
		t.Fatalf("uncommented example: %v\n%s", err, uncommented)
	}
	var types []string
	for _, s := range cfg.Sources {
		types = append(types, s.Type)
	}
	if want := []string{"demo", "prometheus", "influxdb", "kubernetes", "jaeger"}; !reflect.DeepEqual(types, want) {
		t.Errorf("uncommented example sources = %v, want %v", types, want)
	}
	wantPrices := cost.Defaults()
	wantPrices.Name = "custom"
	if cfg.Prices != wantPrices {
		t.Errorf("uncommented example prices = %+v, want %+v", cfg.Prices, wantPrices)
	}
	if err := cfg.Validate(types, []string{"dark", "light", "plain"}); err != nil {
		t.Error(err)
	}
}
