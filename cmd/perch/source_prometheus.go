package main

import (
	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus"
)

func init() { registry["prometheus"] = buildPrometheus }

// buildPrometheus turns a "type: prometheus" entry into the source. It
// works unchanged against Thanos, Mimir and VictoriaMetrics.
func buildPrometheus(src config.Source, cfg config.Config) (sources.Source, error) {
	var pc prometheus.Config
	if err := src.Decode(&pc); err != nil {
		return nil, err
	}
	pc.Name = src.Name
	pc.Prices = cfg.Prices
	if pc.Refresh == 0 {
		pc.Refresh = cfg.Refresh
	}
	s, err := prometheus.New(pc)
	if err != nil {
		return nil, src.Errorf("", "%v", err)
	}
	return s, nil
}
