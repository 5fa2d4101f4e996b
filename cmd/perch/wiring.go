package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

// builder turns one config entry into a source.
type builder func(src config.Source, cfg config.Config) (sources.Source, error)

// registry maps a config "type:" to its backend. Adding a backend adds a line.
var registry = map[string]builder{
	"demo": buildDemo,
}

func sourceTypes() []string {
	types := make([]string, 0, len(registry))
	for t := range registry {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// demoSettings are the settings of a "type: demo" entry.
type demoSettings struct {
	Seed      int64         `yaml:"seed"`
	Workloads int           `yaml:"workloads"`
	Interval  time.Duration `yaml:"interval"`
}

func buildDemo(src config.Source, cfg config.Config) (sources.Source, error) {
	set := demoSettings{Seed: 1}
	if err := src.Decode(&set); err != nil {
		return nil, err
	}
	s, err := sim.New(sim.Config{Seed: set.Seed, Workloads: set.Workloads, Interval: set.Interval, Prices: cfg.Prices})
	if err != nil {
		return nil, src.Errorf("", "%v", err)
	}
	return s, nil
}

// buildSources builds every configured source, failing on the first bad one.
func buildSources(cfg config.Config, kf kubeFlags) ([]sources.Source, error) {
	var out []sources.Source
	kubes := 0
	for _, src := range cfg.Sources {
		b, ok := registry[src.Type]
		if !ok {
			return nil, usageError{src.Errorf("type", "unknown source type %q (known: %v)", src.Type, sourceTypes())}
		}
		if src.Type == "kubernetes" && kf.set() {
			if kubes++; kubes > 1 {
				return nil, usageError{src.Errorf("type", "--kubeconfig, --context, -n and -A need a config with at most one kubernetes source: list the contexts in that source instead")}
			}
			b = kf.builder()
		}
		s, err := b(src, cfg)
		if err != nil {
			return nil, usageError{err}
		}
		out = append(out, s)
	}
	if kf.set() && kubes == 0 {
		s, err := kubeFlagsSource(kf, cfg)
		if err != nil {
			return nil, usageError{err}
		}
		out = append(out, s)
	}
	return out, nil
}

// demoSource is the --demo simulator. In scale mode it backfills one hour
// (the fine tier) instead of a day: 24 h of 5,000 workloads is ~38M samples.
func demoSource(c commonFlags, cfg config.Config, clock func() time.Time) (*sim.Sim, error) {
	history := time.Duration(0) // the simulator's default, 24 h
	if c.workloads > 0 {
		history = time.Hour
	}
	// The simulator's own 2 s rounds make the demo lively; --refresh
	// slows it to what a real source would do.
	s, err := sim.New(sim.Config{Seed: c.seed, Workloads: c.workloads, Prices: cfg.Prices, Clock: clock, History: history, Interval: c.refresh})
	if err != nil {
		return nil, usageError{fmt.Errorf("--demo: %w", err)}
	}
	return s, nil
}

// noSourcesHelp is printed instead of a blank dashboard.
const noSourcesHelp = `no data sources configured.

  perch --demo                 try the dashboard on the embedded simulator
  perch config init            write an example config to %s
                               then point it at Prometheus, InfluxDB, Kubernetes or Jaeger
  perch --config FILE          use another config file`
