package cost_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/cost"
)

// The config file decodes prices: into cost.Prices by its yaml tags: every
// key of the table, the node overrides and the free tier must be accepted
// and land in the right field.
func TestConfigAcceptsEveryPriceKey(t *testing.T) {
	var b strings.Builder
	b.WriteString("prices:\n  name: mine\n  free_tier: true\n")
	want := cost.Defaults()
	want.Name, want.FreeTier = "mine", true
	for i, l := range cost.Defaults().Table() {
		v := float64(i+1) / 1000
		b.WriteString("  " + l.Key + ": " + strconv.FormatFloat(v, 'f', -1, 64) + "\n")
	}
	b.WriteString("  nodes:\n    - instance_type: m5.large\n      cpu_hour: 0.048\n    - spot: true\n      gib_hour: 0.001\n")
	cfg, err := config.Parse("perch.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Prices
	for i, l := range got.Table() {
		if w := float64(i+1) / 1000; l.Value != w {
			t.Errorf("%s = %v, want %v", l.Key, l.Value, w)
		}
	}
	if got.Name != "mine" || !got.FreeTier {
		t.Errorf("name %q free tier %v", got.Name, got.FreeTier)
	}
	nodes := got.NodeList()
	if len(nodes) != 2 || nodes[0].InstanceType != "m5.large" || *nodes[0].CPUHour != 0.048 || nodes[0].GiBHour != nil ||
		!nodes[1].Spot || *nodes[1].GiBHour != 0.001 {
		t.Fatalf("nodes = %+v", nodes)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if r := got.Node("m5.large", false); r.CPUHour != 0.048 {
		t.Fatalf("m5.large = %+v", r)
	}
}
