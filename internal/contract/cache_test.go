package contract

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheReusesUnchangedWork: the same files are parsed once and the same
// pair compared once; a changed file is loaded again and its new pair
// compared; Retain drops what is no longer used.
func TestCacheReusesUnchangedWork(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"old", "new"} {
		b, err := os.ReadFile("testdata/removed_operation/" + f + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := NewCache()
	oldPath, newPath := filepath.Join(dir, "old.yaml"), filepath.Join(dir, "new.yaml")
	var first *Report
	for i := 0; i < 3; i++ {
		old, err := c.Load(oldPath)
		if err != nil {
			t.Fatal(err)
		}
		new, err := c.Load(newPath)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Compare(old, new)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
		} else if r != first {
			t.Fatal("an unchanged pair was compared again")
		}
	}
	if c.loads != 2 || c.compares != 1 {
		t.Fatalf("%d loads and %d compares, want 2 and 1", c.loads, c.compares)
	}
	// new.yaml is fixed: copy old.yaml over it.
	b, _ := os.ReadFile(oldPath)
	if err := os.WriteFile(newPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	old, _ := c.Load(oldPath)
	new, err := c.Load(newPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Compare(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if c.loads != 3 || c.compares != 2 || r.Breaking(ERR) {
		t.Fatalf("after the fix: %d loads, %d compares, %s", c.loads, c.compares, r.Summary())
	}
	c.Retain([]*Document{old, new})
	if len(c.docs) != 2 || len(c.reports) != 1 {
		t.Fatalf("after Retain: %d documents and %d reports, want 2 and 1", len(c.docs), len(c.reports))
	}
	c.Retain(nil)
	if len(c.docs) != 0 || len(c.reports) != 0 {
		t.Fatal("Retain(nil) kept something")
	}
}

func TestWriteFormats(t *testing.T) {
	r := &Report{Old: "a.yaml", New: "b.yaml", Items: []Item{{Level: WARN, ID: "x-changed", Operation: "GET /a",
		Message: "a | b\nchanged", Source: &Location{File: "b.yaml", Line: 3, Column: 7}}}}
	var b bytes.Buffer
	if err := Write(&b, r, "md", WARN); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `a \| b changed`) || !strings.Contains(b.String(), "**Breaking** (fails on WARN)") {
		t.Errorf("markdown:\n%s", b.String())
	}
	b.Reset()
	if err := Write(&b, r, FormatJSON, ERR); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Compatible bool
		FailOn     Level `json:"fail_on"`
		Items      []Item
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Compatible || back.FailOn != ERR || len(back.Items) != 1 || back.Items[0].Level != WARN || *back.Items[0].Source != *r.Items[0].Source {
		t.Errorf("JSON round trip: %+v", back)
	}
	b.Reset()
	if err := Write(&b, &Report{Old: "a", New: "b"}, FormatText, ERR); err != nil {
		t.Fatal(err)
	}
	if want := "a → b\n\nno changes\n\n0 errors, 0 warnings, 0 info: compatible (fails on ERR)\n"; b.String() != want {
		t.Errorf("empty report:\n%q\nwant\n%q", b.String(), want)
	}
	if err := Write(&b, r, "yaml", ERR); err == nil {
		t.Error("an unknown format was accepted")
	}
	for in, want := range map[string]Level{"err": ERR, "ERROR": ERR, " Warn ": WARN, "warning": WARN, "INFO": INFO} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("fatal"); err == nil {
		t.Error("ParseLevel accepted fatal")
	}
}
