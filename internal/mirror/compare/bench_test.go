package compare

import (
	"fmt"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

// benchDoc returns a JSON document of about 4 KiB: a page of 30 items
// with nested objects, arrays, strings and numbers. shift changes each
// order's updated_at and, when reorder is set, the items come in reverse
// order and the keys of each item in another order.
func benchDoc(shift int, reorder bool, total string) []byte {
	items := make([]string, 30)
	for i := range items {
		id, ts := i+1, 1700000000+i+shift
		if reorder {
			id = 30 - i
			ts = 1700000000 + 30 - i - 1 + shift
			items[i] = fmt.Sprintf(`{"updated_at":%d,"tags":["new","sale"],"price":%d.99,"name":"Item number %d","id":%d,"owner":{"name":"Ada Lovelace","id":42}}`, ts, id, id, id)
		} else {
			items[i] = fmt.Sprintf(`{"id":%d,"name":"Item number %d","price":%d.99,"tags":["new","sale"],"owner":{"id":42,"name":"Ada Lovelace"},"updated_at":%d}`, id, id, id, ts)
		}
	}
	return fmt.Appendf(nil, `{"meta":{"request_id":"req-%d","page":1,"per_page":30,"total":%s},"items":[%s],"links":{"self":"/items?page=1","next":"/items?page=2"}}`,
		shift, total, strings.Join(items, ","))
}

// BenchmarkCompare compares two answers of about 4 KiB: identical bytes
// (the fast path), the same content reordered (a full structural walk that
// matches), with noise that config ignores plus one real difference, and
// with an unordered array given in reverse.
func BenchmarkCompare(b *testing.B) {
	cfg := &config.Compare{
		Ignore:    []string{"/meta/request_id", "/items/*/updated_at"},
		Tolerance: map[string]float64{"/meta/total": 0.5},
	}
	unordered := *cfg
	unordered.Unordered = []string{"/items"}
	base := benchDoc(0, false, "100")
	for _, bc := range []struct {
		name string
		cfg  *config.Compare
		cand []byte
	}{
		{"identical", cfg, base},
		{"reordered", nil, []byte(strings.ReplaceAll(string(base), `"page":1,"per_page":30`, `"per_page":30,"page":1`))},
		{"ignored+diff", cfg, benchDoc(7, false, "102")},
		{"unordered", &unordered, benchDoc(0, true, "100.2")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustNew(b, bc.cfg)
			p, q := jsonResp(string(base)), jsonResp(string(bc.cand))
			want := c.Compare(p, q)
			if (bc.name == "ignored+diff") == want.Match {
				b.Fatalf("unexpected result %+v", want)
			}
			b.SetBytes(int64(len(base)))
			b.ReportAllocs()
			for b.Loop() {
				c.Compare(p, q)
			}
		})
	}
}

// BenchmarkParse parses the same ~4 KiB document: the bulk of a structural
// Compare is parsing both sides.
func BenchmarkParse(b *testing.B) {
	doc := benchDoc(0, false, "100")
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		d, ok := parse(doc)
		if !ok {
			b.Fatal("parse failed")
		}
		d.release()
	}
}
