package cost

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestKubeHourlyTakesMaxOfRequestAndUsage(t *testing.T) {
	p := Defaults()
	cases := []struct {
		name                   string
		cpuReq, cpuUse, mr, mu float64
		want                   float64
	}{
		{"request dominates", 2, 0.5, 4 * GiB, 1 * GiB, 2*0.031611 + 4*0.004237},
		{"usage dominates", 0.5, 1.5, 1 * GiB, 3 * GiB, 1.5*0.031611 + 3*0.004237},
		{"missing usage", 1, math.NaN(), 2 * GiB, math.NaN(), 0.031611 + 2*0.004237},
		{"nothing", 0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		if got := p.KubeHourly(c.cpuReq, c.cpuUse, c.mr, c.mu); !near(got, c.want) {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
	}
}

func TestLambdaHourly(t *testing.T) {
	p := Defaults()
	// 10 req/s, 120.3 ms billed as 121 ms, 512 MB.
	perHour := 36000.0
	want := perHour/1e6*0.20 + perHour*0.121*0.5*0.0000166667
	if got := p.LambdaHourly(10, 0.1203, 512); !near(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if got := p.LambdaHourly(0, 0.1, 512); got != 0 {
		t.Fatalf("idle function costs %v, want 0", got)
	}
}

func TestBilledSecondsRoundsUpPerIncrement(t *testing.T) {
	cases := []struct{ in, inc, want float64 }{
		{0.1203, 0.001, 0.121}, // 120.3 ms → 121 ms
		{0.121, 0.001, 0.121},  // exactly 121 ms stays 121 ms despite float error
		{1e-9, 0.001, 0.001},   // any positive duration bills one increment
		{0, 0.001, 0},          // nothing ran
		{math.NaN(), 0.001, 0}, // unknown bills nothing
		{-1, 0.001, 0},         // negative is nonsense, bills nothing
		{0.12, 0.1, 0.2},       // Cloud Run: 120 ms → 200 ms
		{0.3, 0.1, 0.3},        // 0.3/0.1 = 2.9999999999999996 in floats: still 300 ms
		{1.0001, 0.001, 1.001}, // 1000.1 ms → 1001 ms
		{0.25, 0, 0.25},        // no increment: as is
	}
	for _, c := range cases {
		if got := BilledSeconds(c.in, c.inc); !near(got, c.want) {
			t.Errorf("BilledSeconds(%v, %v) = %v, want %v", c.in, c.inc, got, c.want)
		}
	}
}

func TestProjectionsAndPerMillion(t *testing.T) {
	if got := Daily(0.5); got != 12 {
		t.Errorf("Daily(0.5) = %v, want 12", got)
	}
	if got := Monthly(0.5); got != 365 { // 0.5 $/h × 730 h
		t.Errorf("Monthly(0.5) = %v, want 365", got)
	}
	// $0.36/h at 10 req/s = 36,000 req/h → $10 per 1M requests.
	if got := PerMillion(0.36, 10); !near(got, 10) {
		t.Errorf("PerMillion = %v, want 10", got)
	}
	for _, rps := range []float64{0, -1, math.NaN()} {
		if got := PerMillion(1, rps); !math.IsNaN(got) {
			t.Errorf("PerMillion(1, %v) = %v, want NaN (no division by zero)", rps, got)
		}
	}
}

func TestPricesStayComparableAndDefaultsValid(t *testing.T) {
	a, b := Defaults(), Defaults()
	if a != b { // sources and config compare tables with ==
		t.Fatal("two Defaults() tables differ")
	}
	if (Prices{}).OrDefaults() != Defaults() {
		t.Fatal("the zero table must mean the defaults")
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	x := Defaults().WithNodes(NodePrice{InstanceType: "m5.large", CPUHour: Price(0.048)})
	y := Defaults().WithNodes(NodePrice{InstanceType: "m5.large", CPUHour: Price(0.048)})
	if !x.Equal(y) || x.Equal(Defaults()) {
		t.Fatal("Equal must compare node overrides by value")
	}
	z := Defaults().WithNodes(NodePrice{InstanceType: "m5.large", CPUHour: Price(0.049)})
	if x.Equal(z) {
		t.Fatal("different node prices compare equal")
	}
}

// TestTableListsEveryPrice keeps Table (and so the config example and the
// price view) in step with the struct: every float field has a line whose
// key is its yaml tag and whose value is the field's.
func TestTableListsEveryPrice(t *testing.T) {
	p := Defaults()
	byKey := map[string]float64{}
	for _, l := range p.Table() {
		if l.Unit == "" {
			t.Errorf("%s has no unit", l.Key)
		}
		byKey[l.Key] = l.Value
	}
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Float64 {
			continue
		}
		key := f.Tag.Get("yaml")
		got, ok := byKey[key]
		if !ok {
			t.Errorf("Table has no line for %s (yaml %q)", f.Name, key)
		} else if got != v.Field(i).Float() {
			t.Errorf("Table %s = %v, field = %v", key, got, v.Field(i).Float())
		}
	}
}

func TestValidateNamesTheBadPrice(t *testing.T) {
	cases := []struct {
		p    Prices
		want string
	}{
		{func() Prices { p := Defaults(); p.CPUHour = -1; return p }(), "prices.cpu_hour: must not be negative"},
		{func() Prices { p := Defaults(); p.CloudRunGiBSecond = math.NaN(); return p }(), "prices.cloud_run_gib_second: must be a finite number"},
		{func() Prices { p := Defaults(); p.LambdaArmGBSecond = math.Inf(1); return p }(), "prices.lambda_arm_gb_second: must be a finite number"},
		{Defaults().WithNodes(NodePrice{InstanceType: "a", GPUHour: Price(-2)}), "prices.nodes[0].gpu_hour: must not be negative"},
		{Defaults().WithNodes(NodePrice{InstanceType: "a"}), "prices.nodes[0]: sets no price (give cpu_hour, gib_hour or gpu_hour)"},
		{Defaults().WithNodes(NodePrice{InstanceType: "a", CPUHour: Price(1)}, NodePrice{InstanceType: "a", GiBHour: Price(1)}),
			"prices.nodes[1]: repeats nodes[0] (same instance_type and spot)"},
	}
	for _, c := range cases {
		err := c.p.Validate()
		if err == nil || err.Error() != c.want {
			t.Errorf("Validate() = %v, want %q", err, c.want)
		}
		var pe *PriceError
		if !errors.As(err, &pe) {
			t.Errorf("%v is not a *PriceError", err)
		}
	}
	ok := Defaults().WithNodes(NodePrice{InstanceType: "a", CPUHour: Price(1)}, NodePrice{InstanceType: "a", Spot: true, CPUHour: Price(0.3)})
	if err := ok.Validate(); err != nil {
		t.Errorf("same type on-demand and spot is fine: %v", err)
	}
}
