package scrape

import (
	"fmt"
	"io"
	"math"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Point is one flat sample of an exposition: histograms come out as their
// _bucket{le}, _sum and _count series, as Prometheus stores them.
type Point struct {
	Name   string
	Labels map[string]string // without __name__
	Value  float64
}

// Parse reads the Prometheus text exposition format (version 0.0.4, what
// every exporter serves by default) into flat points.
func Parse(r io.Reader) ([]Point, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	out := make([]Point, 0, len(fams)*4)
	for _, f := range fams {
		vec, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, f)
		if err != nil {
			return nil, fmt.Errorf("parse exposition: family %q: %w", f.GetName(), err)
		}
		for _, s := range vec {
			v := float64(s.Value)
			if math.IsNaN(v) {
				continue // a NaN gauge is "no value"
			}
			labels := make(map[string]string, len(s.Metric)-1)
			for k, lv := range s.Metric {
				if k != model.MetricNameLabel {
					labels[string(k)] = string(lv)
				}
			}
			out = append(out, Point{Name: string(s.Metric[model.MetricNameLabel]), Labels: labels, Value: v})
		}
	}
	return out, nil
}
