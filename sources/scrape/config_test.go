package scrape

import (
	"testing"
	"time"

	"github.com/perch-dev/perch/config"
)

func TestConfigDecodesFromYAML(t *testing.T) {
	yaml := `sources:
  - type: scrape
    name: small
    targets: [http://ksm:8080/metrics, "https://gateway:8082/metrics"]
    interval: 10s
    timeout: 3s
    cluster: edge
    headers: {X-Tenant: a}
    bearer_token_file: /var/run/secrets/token
    max_series: 5000
    window: 1m
`
	cfg, err := config.Parse("perch.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := cfg.Sources[0].Decode(&c); err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 2 || c.Interval != 10*time.Second || c.Timeout != 3*time.Second || c.Cluster != "edge" ||
		c.Headers["X-Tenant"] != "a" || c.BearerTokenFile != "/var/run/secrets/token" || c.MaxSeries != 5000 || c.Window != time.Minute {
		t.Errorf("decoded %+v", c)
	}
	if _, err := New(c); err != nil {
		t.Error(err)
	}
}
