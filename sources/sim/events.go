package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/perch-dev/perch/sources"
)

// eventWindow is how long a warning stays listed, like the kubernetes
// source's default event window.
const eventWindow = time.Hour

// probePeriod is the readiness probe interval the warnings count in.
const probePeriod = 10 * time.Second

// Events implements sources.EventLister: during and for an hour after the
// daily incident, the readiness probes of an incident target's pods time
// out (its latency is what the incident is), as a kubelet would report.
func (s *Sim) Events(ctx context.Context, id sources.WorkloadID) ([]sources.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, ok := s.index[id]
	if !ok {
		return nil, fmt.Errorf("sim: unknown workload %s", id)
	}
	return s.EventsAt(w, s.clock()), nil
}

// EventsAt are the warnings of workload w listed at t, newest first.
func (s *Sim) EventsAt(w int32, t time.Time) []sources.Event {
	sp := &s.specs[w]
	if !sp.incident || sp.w.Platform != sources.Kubernetes {
		return nil
	}
	start, end := s.IncidentWindow(t)
	if t.Before(start) {
		start, end = start.Add(-24*time.Hour), end.Add(-24*time.Hour) // yesterday's
	}
	if t.Before(start) || t.Sub(start) > eventWindow {
		return nil
	}
	last := t
	if last.After(end) {
		last = end
	}
	count := max(1, int(last.Sub(start)/probePeriod))
	var out []sources.Event
	for i, p := range s.PodsAt(sp.w.ID, last) {
		if i == 3 {
			break // the kubelet reports each pod; three are enough to see it
		}
		out = append(out, sources.Event{
			Object: "Pod/" + p.Name, Reason: "Unhealthy", Count: max(1, count-i),
			Message: `Readiness probe failed: Get "http://` + podIP(p.Name) + `:8080/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
			Last:    last.Add(-time.Duration(i) * probePeriod),
		})
	}
	return out
}

// podIP is a stable made-up pod address.
func podIP(name string) string {
	h := hash(0x1b, 0, int64(len(name)))
	for _, c := range name {
		h = hash(h, uint64(c), 0)
	}
	return fmt.Sprintf("10.%d.%d.%d", 1+h%4, (h>>8)%250, 2+(h>>16)%250)
}
