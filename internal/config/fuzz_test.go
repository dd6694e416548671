package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must not panic; every problem
// it reports must name the file, a line and a column on one line; and a
// configuration it accepts must stay valid when defaults and validation run
// again.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		c, err := Parse(file, data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a config along with an error")
			}
			for _, e := range Flatten(err) {
				if e.Pos.File != file || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("problem without a proper position: %q", e.Error())
				}
				if strings.ContainsAny(e.Msg, "\r\n") {
					t.Fatalf("problem spans several lines: %q", e.Error())
				}
			}
			return
		}
		if c == nil {
			t.Fatal("Parse returned neither config nor error")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate again:\n%v", Flatten(err))
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate after ApplyDefaults again:\n%v", Flatten(err))
		}
	})
}
