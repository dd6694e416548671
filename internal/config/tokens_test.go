package config

import (
	"os"
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
