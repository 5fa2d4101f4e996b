package main

import (
	"strings"

	"github.com/perch-dev/perch/config"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/jaeger"
)

func init() { registry["jaeger"] = buildJaeger }

// buildJaeger turns a "type: jaeger" entry into the source. Settings are
// jaeger.Config's yaml keys: url, bearer_token, token_file, tls (ca_file,
// cert_file, key_file, server_name, insecure_skip_verify), timeout,
// cluster, api (auto, v1, v3), search_depth, refresh, list_services,
// max_spans.
func buildJaeger(src config.Source, cfg config.Config) (sources.Source, error) {
	var jc jaeger.Config
	if err := src.Decode(&jc); err != nil {
		return nil, err
	}
	jc.Name = src.Name
	s, err := jaeger.New(jc)
	if err != nil {
		return nil, src.Errorf(jaegerSettingOf(err), "%s", strings.TrimPrefix(err.Error(), "jaeger: "))
	}
	return s, nil
}

// jaegerSettingOf names the setting an error from jaeger.New is about, for
// the file:line of the message.
func jaegerSettingOf(err error) string {
	msg := err.Error()
	for _, key := range []string{"tls.ca_file", "tls.cert_file", "search_depth", "max_spans", "bearer_token", "token_file", "timeout", "refresh", "url", "api"} {
		if strings.Contains(msg, key) {
			return key
		}
	}
	if strings.Contains(msg, "tls client certificate") {
		return "tls.cert_file"
	}
	return ""
}
