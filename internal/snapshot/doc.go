// Package snapshot owns Snapshot, what the core (internal/core) publishes
// at every compile and the appliers serve each request with: the routing
// table, the trust policy, the upstream pools and the services' in-flight
// caps (Flights, whose counters outlive one snapshot). The core builds and
// swaps snapshots; the data-plane proxy, the admin API and the mirror read
// them, and none of them needs another's package for it.
//
// A Snapshot is immutable once published and safe to share between
// goroutines; only the Flights counters change, atomically. The package is
// a leaf beside internal/route: it imports route, trust and upstream for
// the types a Snapshot holds, and no listener or handler.
package snapshot
