package main

import (
	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/scrape"
)

func init() { registry["scrape"] = buildScrape }

// buildScrape turns a "type: scrape" entry into the source: perch scrapes
// the listed /metrics endpoints itself (no Prometheus server).
func buildScrape(src config.Source, cfg config.Config) (sources.Source, error) {
	var sc scrape.Config
	if err := src.Decode(&sc); err != nil {
		return nil, err
	}
	sc.Name = src.Name
	sc.Prices = cfg.Prices
	if sc.Interval == 0 {
		sc.Interval = cfg.Refresh
	}
	s, err := scrape.New(sc)
	if err != nil {
		return nil, src.Errorf("targets", "%v", err)
	}
	return s, nil
}
