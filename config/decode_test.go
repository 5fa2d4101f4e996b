package config

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// backendConfig is a typical backend's settings struct.
type backendConfig struct {
	URL     string            `yaml:"url"`
	Timeout time.Duration     `yaml:"timeout"`
	Headers map[string]string `yaml:"headers"`
	TLS     struct {
		CAFile   string `yaml:"ca_file"`
		Insecure bool   `yaml:"insecure_skip_verify"`
	} `yaml:"tls"`
	Tenants []string       `yaml:"tenants"`
	Retries *int           `yaml:"retries"`
	Step    *time.Duration `yaml:"step"`
	Rate    float64        `yaml:"rate"`
	Port    uint16         `yaml:"port"`
	Token   string         `yaml:"token"`
}

// parseOne parses a config whose second source (sources[1]) is the one
// under test; settings is its body, indented by four spaces.
func parseOne(t *testing.T, settings string) Source {
	t.Helper()
	data := "refresh: 15s\nsources:\n  - type: demo\n  - type: prometheus\n" + settings
	cfg, err := Parse("perch.yaml", []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	if len(cfg.Sources) != 2 {
		t.Fatalf("sources = %d", len(cfg.Sources))
	}
	return cfg.Sources[1]
}

func TestDecode(t *testing.T) {
	src := parseOne(t, `    name: prod
    url: http://127.0.0.1:9090
    timeout: 1m30s
    headers:
      X-Scope-OrgID: team-a
      Accept: application/json
    tls:
      ca_file: /etc/ca.pem
      insecure_skip_verify: true
    tenants: [a, b]
    retries: 3
    rate: 2
    port: 9090
    token: 12345
`)
	var got backendConfig
	got.Timeout = time.Second // a default that the file overrides
	got.Step = new(time.Duration)
	if err := src.Decode(&got); err != nil {
		t.Fatal(err)
	}
	three := 3
	want := backendConfig{
		URL: "http://127.0.0.1:9090", Timeout: 90 * time.Second,
		Headers: map[string]string{"X-Scope-OrgID": "team-a", "Accept": "application/json"},
		Tenants: []string{"a", "b"}, Retries: &three, Step: new(time.Duration),
		Rate: 2, Port: 9090, Token: "12345",
	}
	want.TLS.CAFile, want.TLS.Insecure = "/etc/ca.pem", true
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode\n got %+v\nwant %+v", got, want)
	}
	if src.Name != "prod" || src.Line != 4 {
		t.Errorf("name, line = %q, %d", src.Name, src.Line)
	}
}

func TestDecodeKeepsDefaults(t *testing.T) {
	src := parseOne(t, "    url: http://x\n    timeout:\n")
	cfg := backendConfig{Timeout: 5 * time.Second, Tenants: []string{"x"}}
	if err := src.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "http://x" || cfg.Timeout != 5*time.Second || len(cfg.Tenants) != 1 {
		t.Errorf("got %+v", cfg)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, settings, want string
	}{
		{"unknown key with suggestion", "    url: http://x\n    timout: 10s\n",
			`perch.yaml:6: sources[1].timout: unknown key, did you mean "timeout"?`},
		{"unknown key without suggestion", "    database: x\n",
			`perch.yaml:5: sources[1].database: unknown key (known keys: headers, port, rate, retries, step, tenants, timeout, tls, token, url)`},
		{"unknown nested key", "    tls:\n      ca_fil: /x\n",
			`perch.yaml:6: sources[1].tls.ca_fil: unknown key, did you mean "ca_file"?`},
		{"wrong type duration", "    timeout: soon\n",
			`perch.yaml:5: sources[1].timeout: must be a duration like 15s or 1m30s`},
		{"wrong type string", "    url: [a, b]\n",
			`perch.yaml:5: sources[1].url: must be a string, not a list`},
		{"wrong type list", "    tenants: a\n",
			`perch.yaml:5: sources[1].tenants: must be a list, not a single value`},
		{"wrong list item", "    tenants:\n      - a\n      - {b: c}\n",
			`perch.yaml:7: sources[1].tenants[1]: must be a string, not a mapping`},
		{"wrong type map", "    headers: [a]\n",
			`perch.yaml:5: sources[1].headers: must be a mapping, not a list`},
		{"wrong map value", "    headers:\n      Accept: [a]\n",
			`perch.yaml:6: sources[1].headers.Accept: must be a string, not a list`},
		{"duplicate map key", "    headers:\n      Accept: a\n      Accept: b\n",
			`perch.yaml:7: sources[1].headers.Accept: duplicate key (first at line 6)`},
		{"wrong type struct", "    tls: yes\n",
			`perch.yaml:5: sources[1].tls: must be a mapping, not a single value`},
		{"wrong type bool", "    tls:\n      insecure_skip_verify: maybe\n",
			`perch.yaml:6: sources[1].tls.insecure_skip_verify: must be true or false`},
		{"wrong type int", "    retries: many\n",
			`perch.yaml:5: sources[1].retries: must be an integer`},
		{"float for int", "    retries: 1.5\n",
			`perch.yaml:5: sources[1].retries: must be an integer`},
		{"wrong type float", "    rate: fast\n",
			`perch.yaml:5: sources[1].rate: must be a number`},
		{"negative uint", "    port: -1\n",
			`perch.yaml:5: sources[1].port: must not be negative`},
		{"uint overflow", "    port: 70000\n",
			`perch.yaml:5: sources[1].port: is out of range for uint16`},
		{"pointer to duration", "    step: 5\n",
			`perch.yaml:5: sources[1].step: must be a duration like 15s or 1m30s`},
		{"first error in file order", "    url: [x]\n    timout: 1s\n",
			`perch.yaml:5: sources[1].url: must be a string, not a list`},
		{"error through a merge reports the anchor's line",
			"    <<: *shared\n",
			`perch.yaml:3: sources[1].timeout: must be a duration like 15s or 1m30s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "refresh: 15s\nsources:\n  - type: demo\n  - type: prometheus\n" + tt.settings
			if strings.Contains(tt.settings, "*shared") {
				data = "refresh: 15s\nsources:\n  - {type: demo, <<: &shared {timeout: soon}}\n  - type: prometheus\n" + tt.settings
			}
			cfg, err := Parse("perch.yaml", []byte(data))
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, data)
			}
			var v backendConfig
			err = cfg.Sources[1].Decode(&v)
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s\n%s", err, tt.want, data)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "perch.yaml" || e.Line == 0 {
				t.Errorf("%#v is not an *Error with file and line", err)
			}
		})
	}
}

func TestDecodeMergeAndAliases(t *testing.T) {
	data := `sources:
  - &base
    type: prometheus
    name: a
    timeout: 10s
    tenants: &tenants [x, y]
  - <<: *base
    name: b
    url: http://b
    tenants: *tenants
`
	cfg, err := Parse("perch.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{cfg.Sources[1].Type, cfg.Sources[1].Name}; got[0] != "prometheus" || got[1] != "b" {
		t.Fatalf("merged source = %v", got)
	}
	var v backendConfig
	if err := cfg.Sources[1].Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.URL != "http://b" || v.Timeout != 10*time.Second || !reflect.DeepEqual(v.Tenants, []string{"x", "y"}) {
		t.Errorf("decoded %+v", v)
	}
	if got, want := cfg.Sources[1].Keys(), []string{"timeout", "url", "tenants"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %v, want %v", got, want)
	}
}

func TestDecodeOtherTargets(t *testing.T) {
	src := parseOne(t, "    url: http://x\n    extra: {a: 1}\n    addr: 10.0.0.1\n")

	var m map[string]any
	if err := src.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m["url"] != "http://x" || !reflect.DeepEqual(m["extra"], map[string]any{"a": 1}) {
		t.Errorf("map = %#v", m)
	}

	var inline struct {
		URL  string         `yaml:"url"`
		Addr netip.Addr     `yaml:"addr"`
		Rest map[string]any `yaml:",inline"`
	}
	if err := src.Decode(&inline); err != nil {
		t.Fatal(err)
	}
	if inline.URL != "http://x" || inline.Addr != netip.MustParseAddr("10.0.0.1") || len(inline.Rest) != 1 {
		t.Errorf("inline = %+v", inline)
	}

	var node struct {
		Extra yaml.Node      `yaml:"extra"`
		Rest  map[string]any `yaml:",inline"`
	}
	if err := src.Decode(&node); err != nil {
		t.Fatal(err)
	}
	if node.Extra.Kind != yaml.MappingNode || node.Extra.Line != 6 {
		t.Errorf("yaml.Node field = kind %v line %d", node.Extra.Kind, node.Extra.Line)
	}

	var unsupported struct {
		URL chan int `yaml:"url"`
	}
	if err := src.Decode(&unsupported); err == nil || !strings.Contains(err.Error(), "sources[1].url: cannot decode into Go type chan int") {
		t.Errorf("unsupported type: %v", err)
	}

	if err := src.Decode(backendConfig{}); err == nil {
		t.Error("Decode into a non-pointer succeeded")
	}
	if err := (Source{}).Decode(&m); err != nil {
		t.Errorf("zero Source: %v", err)
	}
}

func TestSourceErrorf(t *testing.T) {
	src := parseOne(t, "    url: http://x\n    tls:\n      ca_file: /x\n    name: prod\n")
	tests := []struct{ key, want string }{
		{"type", "perch.yaml:4: sources[1].type: cannot read"},
		{"name", "perch.yaml:8: sources[1].name: cannot read"},
		{"tls.ca_file", "perch.yaml:7: sources[1].tls.ca_file: cannot read"},
		{"url", "perch.yaml:5: sources[1].url: cannot read"},
		{"token", "perch.yaml:4: sources[1].token: cannot read"},
		{"", "perch.yaml:4: sources[1]: cannot read"},
	}
	for _, tt := range tests {
		if got := src.Errorf(tt.key, "cannot %s", "read").Error(); got != tt.want {
			t.Errorf("Errorf(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

// echo is a yaml.Unmarshaler whose error quotes its input, as careless
// third-party code does.
type echo struct{}

func (*echo) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	return fmt.Errorf("bad value %q", s)
}

type echoInt struct{}

func (*echoInt) UnmarshalYAML(n *yaml.Node) error {
	var i int
	return n.Decode(&i) // yaml.v3 quotes the value, cut to 7 characters
}

func TestErrorsNeverShowValues(t *testing.T) {
	const secret = "s3cr3t-Tok3n-value"
	parseTests := []string{
		"refresh: SECRET\n",
		"refresh: [SECRET]\n",
		"theme: [SECRET]\n",
		"theme: {SECRET: SECRET}\n",
		"prices: SECRET\n",
		"prices:\n  cpu_hour: SECRET\n",
		"prices:\n  token: SECRET\n",
		"sources: SECRET\n",
		"sources:\n  - SECRET\n",
		"sources:\n  - type: [SECRET]\n",
		"sources:\n  - name: SECRET\n    token: SECRET\n",
		"sources:\n  - type: demo\n    name: SECRET\n  - type: demo\n    name: SECRET\n",
		"token: SECRET\n",
		"sources:\n  - type: demo\n    token: SECRET\n    token: SECRET\n",
		"sources:\n  - type: demo\n    token: \"SECRET\n",
		"sources:\n  - type: demo\n    token: SECRET\n---\ntoken: SECRET\n",
		"sources:\n  - type: demo\n    <<: SECRET\n",
	}
	for _, data := range parseTests {
		data = strings.ReplaceAll(data, "SECRET", secret)
		_, err := Parse("perch.yaml", []byte(data))
		if err == nil {
			t.Errorf("no error for %q", data)
			continue
		}
		if strings.Contains(err.Error(), secret[:7]) {
			t.Errorf("error shows the value: %v", err)
		}
	}

	decodeTests := []struct {
		settings string
		target   func() any
	}{
		{"    tokn: SECRET\n", func() any { return new(backendConfig) }},
		{"    timeout: SECRET\n", func() any { return new(backendConfig) }},
		{"    retries: SECRET\n", func() any { return new(backendConfig) }},
		{"    rate: SECRET\n", func() any { return new(backendConfig) }},
		{"    port: SECRET\n", func() any { return new(backendConfig) }},
		{"    tenants: SECRET\n", func() any { return new(backendConfig) }},
		{"    tls: SECRET\n", func() any { return new(backendConfig) }},
		{"    tls:\n      insecure_skip_verify: SECRET\n", func() any { return new(backendConfig) }},
		{"    headers:\n      Authorization: [SECRET]\n", func() any { return new(backendConfig) }},
		{"    headers: {a: b, a: SECRET}\n", func() any { return new(backendConfig) }},
		{"    addr: SECRET\n", func() any { return new(struct{ Addr netip.Addr }) }},
		{"    token: SECRET\n", func() any { return new(struct{ Token echo }) }},
		{"    token: SECRET\n", func() any { return new(struct{ Token echoInt }) }},
		{"    token: {x: SECRET}\n", func() any { return new(struct{ Token echo }) }},
	}
	for _, tt := range decodeTests {
		src := parseOne(t, strings.ReplaceAll(tt.settings, "SECRET", secret))
		err := src.Decode(tt.target())
		if err == nil {
			t.Errorf("no error for %q", tt.settings)
			continue
		}
		if strings.Contains(err.Error(), secret[:7]) {
			t.Errorf("error shows the value: %v", err)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"headers", "tenants", "timeout", "tls", "url"}
	tests := []struct{ in, want string }{
		{"timout", "timeout"},
		{"tiemout", "timeout"},
		{"Timeout", "timeout"},
		{"tenant", "tenants"},
		{"uri", "url"},
		{"ur", "url"},
		{"tsl", "tls"},
		{"database", ""},
		{"", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, known); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
