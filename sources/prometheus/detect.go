package prometheus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// presets returns the active presets, detecting them when due.
func (s *Source) presets(ctx context.Context, now time.Time) ([]*preset, error) {
	s.mu.Lock()
	active, at := s.active, s.detectedAt
	s.mu.Unlock()
	if !at.IsZero() && now.Sub(at) < redetectEvery && now.Sub(at) >= 0 && (len(active) > 0 || len(s.cfg.Overrides) > 0) {
		return active, nil
	}
	active, err := s.detect(ctx, now)
	if err != nil {
		if !at.IsZero() && (len(active) > 0 || len(s.cfg.Overrides) > 0) {
			// Keep the previous presets; detection is retried next round.
			return active, nil
		}
		return nil, err
	}
	s.mu.Lock()
	s.active, s.detectedAt = active, now
	s.mu.Unlock()
	if len(active) == 0 && len(s.cfg.Overrides) == 0 {
		return nil, fmt.Errorf("prometheus %s: %w (looked for %s); set presets or overrides", s.cfg.Name, ErrNoPresets, strings.Join(detectNames(), ", "))
	}
	return active, nil
}

// detect asks the server which preset metric names it has, with one
// label-values call limited to those names. Presets named in the config
// are used as they are; "knative" picks the generation the server has.
func (s *Source) detect(ctx context.Context, now time.Time) ([]*preset, error) {
	var chosen, candidates []*preset
	knative := false
	for _, name := range s.cfg.Presets {
		if name == PresetKnative {
			knative = true
			continue
		}
		for _, pn := range presetAliases[name] {
			chosen = append(chosen, presetByName(pn))
		}
	}
	switch {
	case len(s.cfg.Presets) == 0:
		candidates = allPresets
	case knative:
		candidates = []*preset{presetByName(PresetKnativeOTel), presetByName(PresetKnativeOpenCensus)}
	default:
		return orderPresets(chosen), nil
	}
	names := map[string]bool{}
	var alts []string
	for _, p := range candidates {
		for _, n := range p.detect {
			if !names[n] {
				names[n] = true
				alts = append(alts, escapeRegex(n))
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	match := fmt.Sprintf(`{__name__=~%q}`, strings.Join(alts, "|"))
	vals, _, _, err := s.api.LabelValues(cctx, model.MetricNameLabel, []string{match}, now.Add(-time.Hour), now)
	if err != nil {
		err = s.timedOut(err)
		return nil, leadWithCause(describe(err), "prometheus %s: detecting presets (label values of __name__)", s.cfg.Name)
	}
	has := map[string]bool{}
	for _, v := range vals {
		has[string(v)] = true
	}
	found := false
	for _, p := range candidates {
		for _, n := range p.detect {
			if has[n] {
				chosen = append(chosen, p)
				found = found || isKnative(p.name)
				break
			}
		}
	}
	if knative && !found {
		chosen = append(chosen, presetByName(PresetKnativeOTel)) // the current generation
	}
	return orderPresets(chosen), nil
}

func isKnative(name string) bool { return name == PresetKnativeOTel || name == PresetKnativeOpenCensus }

// orderPresets keeps allPresets' order (merge order) and drops duplicates.
func orderPresets(ps []*preset) []*preset {
	var out []*preset
	for _, p := range allPresets {
		for _, q := range ps {
			if p == q {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func escapeRegex(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
