package config

import (
	"os"
	"strings"
	"testing"
)

func TestLoadTokens(t *testing.T) {
	f, err := LoadTokens("testdata/tokens/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tokens) != 2 || f.Tokens[0].Name != "alice" || f.Tokens[0].Role != RoleOperator || f.Tokens[1].Token != "viewer-secret" {
		t.Errorf("tokens = %+v %+v", *f.Tokens[0], *f.Tokens[1])
	}
}

// TestLoadTokensInvalid compares every problem, one FILE:LINE:COL: message
// per line, with testdata/tokens/invalid.golden (-update rewrites it).
func TestLoadTokensInvalid(t *testing.T) {
	_, err := LoadTokens("testdata/tokens/invalid.yaml")
	if err == nil {
		t.Fatal("LoadTokens accepted an invalid file")
	}
	got := err.Error() + "\n"
	golden := "testdata/tokens/invalid.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
	if _, err := LoadTokens("testdata/tokens/absent.yaml"); err == nil {
		t.Error("LoadTokens of a missing file succeeded")
	}
}

// FuzzParseTokens feeds arbitrary bytes to ParseTokens: no panic, every
// problem positioned on one line, and an accepted file has valid entries.
func FuzzParseTokens(f *testing.F) {
	for _, file := range []string{"testdata/tokens/valid.yaml", "testdata/tokens/invalid.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := ParseTokens("tokens.yaml", data)
		if err != nil {
			for _, e := range Flatten(err) {
				if e.Pos.File != "tokens.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 || strings.ContainsAny(e.Msg, "\r\n") {
					t.Fatalf("problem without a proper one-line position: %q", e.Error())
				}
			}
			return
		}
		for _, tok := range tf.Tokens {
			if tok == nil || tok.Name == "" || (tok.Role != RoleViewer && tok.Role != RoleOperator) || (tok.Token == "") == (tok.SHA256 == "") {
				t.Fatalf("accepted an invalid token entry %+v", tok)
			}
		}
	})
}
