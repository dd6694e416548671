package route

import (
	"fmt"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

func TestQNServiceNotRoutedOverHTTP(t *testing.T) {
	cfg, err := config.Parse("qn.yaml", []byte(`
upstreams:
  dev: { targets: [tcp://127.0.0.1:7101] }
services:
  dev:
    protocol: qn
    listen: 127.0.0.1:7000
    default: v1
    versions:
      v1: { upstream: dev, speaks: v1 }
      v2: { upstream: dev, speaks: v2, translate: true }
    rollout: { from: v1, to: v2, weight: 20 }
`))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := tab.Decide(req("GET", "http://x/anything")); d.Service != nil {
		t.Fatalf("an HTTP request matched qn service %s", d.Service.Name)
	}
	ro := tab.Service("dev").Rollout
	to := 0
	for i := range 10000 {
		b := ro.Bucket(fmt.Sprintf("device-%d", i))
		if b != ro.Bucket(fmt.Sprintf("device-%d", i)) {
			t.Fatal("bucket not stable")
		}
		if ro.Pick(b).Name == "v2" {
			to++
		}
	}
	if to < 1800 || to > 2200 {
		t.Fatalf("%d of 10000 keys on v2 at weight 20", to)
	}
}
