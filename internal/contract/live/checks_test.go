package live

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/route"
)

// checksYAML has an adapted version (v1a, served by v2) next to v1 and v2;
// ROLLOUT and the documents vary per case.
const checksYAML = `
upstreams:
  u1: { targets: [http://127.0.0.1:9] }
  u2: { targets: [http://127.0.0.1:10] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions:
      v1: { upstream: u1, openapi: v1.yaml }
      v2: { upstream: u2, openapi: v2.yaml }
      v1a: { served_by: v2, openapi: v1.yaml, adapt: { response: '.' } }
ROLLOUT
    contract: { validate_percent: 100 }
`

// TestChecksOf: which versions' answers are validated against which
// document, and which check the rollout's gate reads.
func TestChecksOf(t *testing.T) {
	for _, tc := range []struct {
		name, rollout string
		v1aDoc        bool
		want          string // version<document served_by upstream gate?>, by version
	}{
		{"adapted, no rollout", "", true, "v1a<v1a v2 u2>"},
		{"rollout to the adapted version", "    rollout: { from: v1, to: v1a }", true, "v1a<v1a v2 u2 gate>"},
		{"rollout to a plain version", "    rollout: { from: v1, to: v2 }", true, "v1a<v1a v2 u2> v2<v1  u2 gate>"},
		{"adapted without a document", "    rollout: { from: v1, to: v1a }", false, "v1a<v1 v2 u2 gate>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("turnout.yaml", []byte(strings.Replace(checksYAML, "ROLLOUT", tc.rollout, 1)))
			if err != nil {
				t.Fatal(err)
			}
			docs := map[string]*contract.Document{}
			for _, v := range []string{"v1", "v2"} {
				if docs[v], err = contract.Load(filepath.Join("testdata", "items-"+v+".yaml")); err != nil {
					t.Fatal(err)
				}
			}
			if tc.v1aDoc {
				docs["v1a"] = docs["v1"]
			}
			m, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close(t.Context()) })
			m.Update(cfg, func(_, v string) *contract.Document { return docs[v] })
			var got []string
			for _, v := range m.Validations("items") {
				gate := ""
				if v.Gates {
					gate = " gate"
				}
				got = append(got, fmt.Sprintf("%s<%s %s %s%s>", v.Version, v.Document, v.ServedBy, v.Upstream, gate))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("checks %s, want %s", g, tc.want)
			}
			_, gated := m.Validation("items")
			if gated != strings.Contains(tc.want, "gate") {
				t.Errorf("Validation reports a gate: %v", gated)
			}
		})
	}
}

// TestAdaptedAnswerValidated: an answer of the adapted version, routed
// and served as v1a, is validated against v1a's document and its
// violation attributed to v1a, served by v2 through u2, in the sample and
// the metric's call.
func TestAdaptedAnswerValidated(t *testing.T) {
	cfg, err := config.Parse("turnout.yaml", []byte(strings.Replace(checksYAML, "ROLLOUT", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := contract.Load(filepath.Join("testdata", "items-v1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	observed := make(chan string, 1)
	m, err := New(Options{Observe: func(service, version, upstream, op string) {
		observed <- strings.Join([]string{service, version, upstream, op}, " ")
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(t.Context()) })
	m.Update(cfg, func(_, v string) *contract.Document {
		if v == "v1a" {
			return doc
		}
		return nil
	})
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := table.Service("items")
	v1a := svc.Version("v1a")
	if tp := m.Start(request("GET", "/items/1"), &route.Decision{Service: svc, Version: svc.Version("v1")}); tp != nil {
		t.Fatal("an answer of v1, which is not checked, was followed")
	}
	tp := m.Start(request("GET", "/items/1"), &route.Decision{Service: svc, Version: v1a})
	if tp == nil {
		t.Fatal("an answer of the adapted version was not followed")
	}
	answer(t, tp, v1a, 200, `{"id": 1, "total": "ten", "currency": "EUR"}`)
	if got, want := <-observed, "items v1a u2 GET /items/{id}"; got != want {
		t.Fatalf("violation observed as %q, want %q", got, want)
	}
	vals := m.Validations("items")
	if len(vals) != 1 || len(vals[0].Samples) != 1 {
		t.Fatalf("validations %+v", vals)
	}
	if s := vals[0].Samples[0]; s.Version != "v1a" || s.ServedBy != "v2" || s.Upstream != "u2" || s.Violations[0].Path != "/total" {
		t.Errorf("sample %+v, want v1a served by v2 through u2 breaking /total", s)
	}
}
