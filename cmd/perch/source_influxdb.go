package main

import (
	"errors"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/influxdb"
)

func init() { registry["influxdb"] = buildInfluxDB }

// buildInfluxDB turns a "type: influxdb" entry into the source. Settings
// are influxdb.Config's yaml keys: url, org, bucket, token, token_file,
// tls (ca_file, cert_file, key_file, server_name, insecure_skip_verify),
// timeout, refresh, cluster, presets (invocations, cloudwatch-lambda),
// overrides (metric → Flux), max_series, window, inventory,
// cloudwatch_period, cloudwatch_lookback, lambda_memory_mb.
func buildInfluxDB(src config.Source, cfg config.Config) (sources.Source, error) {
	var ic influxdb.Config
	if err := src.Decode(&ic); err != nil {
		return nil, err
	}
	ic.Name = src.Name
	ic.Prices = cfg.Prices
	if ic.Refresh == 0 {
		ic.Refresh = cfg.Refresh
	}
	s, err := influxdb.New(ic)
	if err != nil {
		var ce *influxdb.ConfigError
		if errors.As(err, &ce) {
			return nil, src.Errorf(ce.Key, "%s", ce.Msg)
		}
		return nil, src.Errorf("", "%v", err)
	}
	return s, nil
}
