package config

import (
	"strings"
	"testing"
	"time"
)

// TestScheduleValidate: a schedule and its hold_while are decoded strictly
// and every problem names its FILE:LINE:COL.
func TestScheduleValidate(t *testing.T) {
	base := `
upstreams:
  u: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions:
      v2: {upstream: u}
`
	for _, tc := range []struct{ name, extra, want, at string }{
		{"ok", "      v1: {upstream: u, successor: v2, schedule: [{at: 2027-01-15, lifecycle: deprecated}, {at: 2027-03-01, lifecycle: redirect}, {at: '2027-04-01T00:00:00Z', lifecycle: gone}], hold_while: {requests: 1, window: 10m}}\n", "", ""},
		{"order", "      v1: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: deprecated}, {at: 2027-01-15, lifecycle: gone}]}\n", "versions.v1.schedule[1].at: 2027-01-15T00:00:00Z is not after the previous step's 2027-03-01T00:00:00Z", "a.yaml:10:"},
		{"lifecycle", "      v1: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: retired}]}\n", `schedule[0].lifecycle: "retired" is not a lifecycle`, "a.yaml:10:"},
		{"no at", "      v1: {upstream: u, schedule: [{lifecycle: gone}]}\n", "schedule[0].at: required", "a.yaml:10:"},
		{"bad at", "      v1: {upstream: u, schedule: [{at: next-week, lifecycle: gone}]}\n", `invalid time "next-week"`, "a.yaml:10:"},
		{"redirect", "      v1: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: redirect}]}\n", "schedule[0].lifecycle: redirect needs the version's successor", "a.yaml:10:"},
		{"unknown key", "      v1: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: gone, when: x}]}\n", `unknown key "when"`, "a.yaml:10:"},
		{"hold requests", "      v1: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: gone}], hold_while: {requests: 0, window: 10m}}\n", "hold_while.requests: 0: must be at least 1", "a.yaml:10:"},
		{"hold window", "      v1: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: gone}], hold_while: {requests: 1}}\n", "hold_while.window: required", "a.yaml:10:"},
		{"hold alone", "      v1: {upstream: u, hold_while: {requests: 1, window: 1m}}\n", "hold_while: holds the steps of a schedule", "a.yaml:10:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(base+tc.extra))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), tc.at):
				t.Fatalf("error %v, want it at %s", err, tc.at)
			}
		})
	}
	bad := strings.Replace(base, "v2: {upstream: u}", "v2: {upstream: u, schedule: [{at: 2027-03-01, lifecycle: gone}]}", 1)
	if _, err := Parse("a.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), `default: version "v2" is scheduled to become gone`) {
		t.Fatalf("a default scheduled to be gone: %v", err)
	}
}

// TestScheduleDates: a date means 00:00 UTC and WithLifecycles overrides
// one version without touching the configuration it copies.
func TestScheduleDates(t *testing.T) {
	c, err := Parse("a.yaml", []byte(`
upstreams:
  u: {targets: ["http://127.0.0.1:1"]}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions:
      v2: {upstream: u}
      v1: {upstream: u, schedule: [{at: 2027-01-15, lifecycle: deprecated}, {at: 2027-04-01T12:30:00+02:00, lifecycle: gone}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	v1 := c.Services["users"].Versions["v1"]
	if got, want := v1.DueAt(0), time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("date: %v, want %v", got, want)
	}
	if got, want := v1.DueAt(1), time.Date(2027, 4, 1, 10, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("RFC 3339: %v, want %v", got, want)
	}
	eff := c.WithLifecycles(map[string]map[string]string{"users": {"v1": LifecycleGone}})
	if eff.Services["users"].Versions["v1"].Lifecycle != LifecycleGone || v1.Lifecycle != LifecycleActive {
		t.Fatalf("override: effective %q, configured %q", eff.Services["users"].Versions["v1"].Lifecycle, v1.Lifecycle)
	}
	if eff.Services["users"].Versions["v2"] != c.Services["users"].Versions["v2"] {
		t.Fatal("an untouched version was copied")
	}
	if c.WithLifecycles(map[string]map[string]string{"users": {"v1": LifecycleActive}}) != c {
		t.Fatal("an override that changes nothing copied the configuration")
	}
}
