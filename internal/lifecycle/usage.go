package lifecycle

import "time"

// Usage is what a schedule's guard (hold_while) reads: how many requests
// a version served in the last window and the names of up to MaxClients
// clients seen in it. An implementation is safe for concurrent use and
// answers quickly (the scheduler calls it on every tick for each version
// whose due step is guarded). internal/usage's Tracker has this method.
type Usage interface {
	Recent(service, version string, window time.Duration) (requests uint64, clients []string)
}

// MaxClients is how many client names a hold reason lists.
const MaxClients = 10

// UsageFunc adapts a function to Usage.
type UsageFunc func(service, version string, window time.Duration) (uint64, []string)

// Recent calls f.
func (f UsageFunc) Recent(service, version string, window time.Duration) (uint64, []string) {
	return f(service, version, window)
}

// noUsage is the Usage of a scheduler given none: it knows nothing, so a
// guarded step is held (see holdReason) until a person forces it.
type noUsage struct{}

func (noUsage) Recent(string, string, time.Duration) (uint64, []string) { return 0, nil }
