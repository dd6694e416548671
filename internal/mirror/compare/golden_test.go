package compare

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/turnout-gw/turnout/internal/config"
)

var update = flag.Bool("update", false, "rewrite the want.json files of testdata/cases")

// responseFile is the form of testdata/cases/*/{primary,candidate}.json.
// Body is kept as written (key order, spacing, number digits); Text is a
// raw body for non-JSON cases. Status defaults to 200. Header defaults to
// Content-Type application/json with Body and text/plain with Text.
type responseFile struct {
	Status    int             `json:"status"`
	Header    http.Header     `json:"header"`
	Body      json.RawMessage `json:"body"`
	Text      *string         `json:"text"`
	Truncated bool            `json:"truncated"`
}

func loadResponse(t *testing.T, file string) *Response {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f responseFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	r := &Response{Status: f.Status, Header: f.Header, Body: f.Body, Truncated: f.Truncated}
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	ct := "application/json"
	if f.Text != nil {
		r.Body, ct = []byte(*f.Text), "text/plain"
	}
	if r.Header == nil {
		r.Header = http.Header{"Content-Type": {ct}}
	}
	return r
}

// loadConfig reads a case's config.yaml; a case without one uses New(nil).
func loadConfig(t *testing.T, file string) *config.Compare {
	t.Helper()
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var c config.Compare
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &c
}

// TestGolden compares primary.json with candidate.json in each directory of
// testdata/cases under the case's config.yaml and checks the Result against
// want.json. Run with -update to rewrite want.json, then review each diff.
// It also checks that a side compared with itself always matches.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cases/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 15 {
		t.Fatalf("found %d cases, want at least 15", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c, err := New(loadConfig(t, filepath.Join(dir, "config.yaml")))
			if err != nil {
				t.Fatal(err)
			}
			p := loadResponse(t, filepath.Join(dir, "primary.json"))
			q := loadResponse(t, filepath.Join(dir, "candidate.json"))
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(c.Compare(p, q)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			for _, r := range []*Response{p, q} {
				if self := c.Compare(r, r); !self.Match {
					t.Errorf("a response compared with itself differs: %+v", self)
				}
			}
			want := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, w) {
				t.Errorf("result differs from %s\ngot:\n%s\nwant:\n%s", want, got, w)
			}
		})
	}
}
