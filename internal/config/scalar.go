package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// scalar is implemented by config value types that parse themselves from a
// YAML scalar's text.
type scalar interface {
	parseScalar(s string) error
}

// Duration is a time.Duration written in Go syntax ("250ms", "10s", "1m30s").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration in Go syntax.
func (d Duration) String() string { return time.Duration(d).String() }

func (d *Duration) parseScalar(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use Go syntax such as 500ms, 10s, 1m)", s)
	}
	if v < 0 || strings.HasPrefix(s, "-") { // "-0s" too
		return fmt.Errorf("duration %q must not be negative", s)
	}
	*d = Duration(v)
	return nil
}

// Size is a byte count written as a number or with a unit: 512, 64KiB, 1MiB,
// 1GiB (KB/MB/GB are accepted as the same binary units).
type Size int64

func (z *Size) parseScalar(s string) error {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult || strings.HasPrefix(t, "-") { // "-0" too
		return fmt.Errorf("invalid size %q (use a byte count such as 65536, 64KiB or 1MiB)", s)
	}
	*z = Size(n * mult)
	return nil
}

// Time is an RFC 3339 timestamp ("2027-06-30T00:00:00Z") or a date ("2027-06-30").
type Time struct{ time.Time }

func (t *Time) parseScalar(s string) error {
	if v, err := time.Parse(time.RFC3339, s); err == nil {
		t.Time = v
		return nil
	}
	if v, err := time.Parse("2006-01-02", s); err == nil {
		t.Time = v
		return nil
	}
	return fmt.Errorf("invalid time %q (use RFC 3339, e.g. 2027-06-30T00:00:00Z)", s)
}

// StickyKey names the request value a split is sticky on: header:NAME,
// cookie:NAME or query:NAME. The zero value means "per request".
type StickyKey struct {
	Kind string // header | cookie | query
	Name string
}

// IsZero reports whether no sticky key is set.
func (k StickyKey) IsZero() bool { return k.Kind == "" }

// String formats the key as KIND:NAME.
func (k StickyKey) String() string {
	if k.IsZero() {
		return ""
	}
	return k.Kind + ":" + k.Name
}

// ParseStickyKey parses KIND:NAME.
func ParseStickyKey(s string) (StickyKey, error) {
	kind, name, ok := strings.Cut(s, ":")
	kind, name = strings.TrimSpace(kind), strings.TrimSpace(name)
	if !ok || name == "" {
		return StickyKey{}, fmt.Errorf("invalid sticky key %q (use header:NAME, cookie:NAME or query:NAME)", s)
	}
	switch kind {
	case "header", "cookie", "query":
	default:
		return StickyKey{}, fmt.Errorf("invalid sticky key %q: kind %q must be header, cookie or query", s, kind)
	}
	if strings.ContainsAny(name, " \t\r\n;,=") {
		return StickyKey{}, fmt.Errorf("invalid sticky key %q: name contains a separator", s)
	}
	return StickyKey{Kind: kind, Name: name}, nil
}

func (k *StickyKey) parseScalar(s string) error {
	v, err := ParseStickyKey(s)
	if err != nil {
		return err
	}
	*k = v
	return nil
}
