package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// bucket is the store's blob bucket of applied steps, keyed by
// SERVICE/VERSION.
const bucket = "lifecycle"

// Applied is the last schedule step applied to a version, as persisted:
// a restart (or a reload) finds the version's effective lifecycle from it.
type Applied struct {
	// At is the step's due time as configured; the steps of the current
	// schedule due at or before it count as applied.
	At        time.Time `json:"at"`
	Lifecycle string    `json:"lifecycle"`
	// AppliedAt is when it was applied and Actor by whom: "schedule", or
	// "force:NAME" for a person who forced it.
	AppliedAt time.Time `json:"applied_at"`
	Actor     string    `json:"actor"`
}

func recordKey(service, version string) string { return service + "/" + version }

// load reads every persisted record.
func load(st store.Store) (map[string]Applied, error) {
	blobs, err := st.ListBlobs(bucket)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: reading applied steps: %w", err)
	}
	out := make(map[string]Applied, len(blobs))
	for k, b := range blobs {
		var a Applied
		if err := json.Unmarshal(b, &a); err != nil || !strings.Contains(k, "/") {
			continue // a damaged record is no applied step
		}
		out[k] = a
	}
	return out, nil
}

// save persists a record.
func save(st store.Store, service, version string, a Applied) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("lifecycle: encoding applied step: %w", err)
	}
	if err := st.PutBlob(bucket, recordKey(service, version), b); err != nil {
		return fmt.Errorf("lifecycle: persisting applied step of %s %s: %w", service, version, err)
	}
	return nil
}

// position is the number of v's schedule steps applied according to a:
// those due at or before the last applied step's time.
func position(v *config.Version, a Applied, ok bool) int {
	if !ok {
		return 0
	}
	n := 0
	for i := range v.Schedule {
		if at := v.DueAt(i); !at.IsZero() && !at.After(a.At) {
			n = i + 1
		}
	}
	return n
}
