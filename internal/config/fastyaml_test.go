package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// slowParse is what parseYAML does without fastParse: yaml.v3, one
// document, converted.
func slowParse(data []byte) (*tree, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, false
	}
	return fromYAML(&doc), true
}

// sameTree reports the first difference between two node trees that the
// decoder could see (comments aside), or "".
func sameTree(ta *tree, a *node, tb *tree, b *node, at string) string {
	if a.kind != b.kind || a.tag != b.tag || ta.value(a) != tb.value(b) || a.style != b.style ||
		a.line != b.line || a.col != b.col || (a.alias == 0) != (b.alias == 0) || a.n != b.n {
		return fmt.Sprintf("%s: fast {kind %d tag %s value %q style %d at %d:%d, %d children}, yaml.v3 {kind %d tag %s value %q style %d at %d:%d, %d children}",
			at, a.kind, tagNames[a.tag], ta.value(a), a.style, a.line, a.col, a.n, b.kind, tagNames[b.tag], tb.value(b), b.style, b.line, b.col, b.n)
	}
	ca, cb := ta.children(a), tb.children(b)
	for i := range ca {
		if d := sameTree(ta, &ca[i], tb, &cb[i], fmt.Sprintf("%s/%d", at, i)); d != "" {
			return d
		}
	}
	return ""
}

// checkFast fails when fastParse accepts text that yaml.v3 rejects or
// reads differently; it returns whether fastParse accepted it.
func checkFast(t *testing.T, data []byte) bool {
	t.Helper()
	fast, ok, fault := fastParse(data)
	if fault != nil {
		t.Fatalf("fastParse failed: %v\n%s", fault, data)
	}
	if !ok {
		return false
	}
	slow, sok := slowParse(data)
	if !sok {
		t.Fatalf("fastParse accepts what yaml.v3 rejects:\n%s", data)
	}
	if d := sameTree(fast, &fast.nodes[0], slow, &slow.nodes[0], ""); d != "" {
		t.Fatalf("fastParse differs from yaml.v3 at %s\n%s", d, data)
	}
	return true
}

// corpus returns every configuration text in testdata, fuzz seeds
// included.
func corpus(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = data
	}
	seeds, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range seeds {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, lit, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = []byte(s)
	}
	return out
}

// TestFastParseMatchesYAML: on every configuration in testdata, and on
// each one cut short at every line, fastParse either declines or builds the
// tree yaml.v3 builds; it reads every valid configuration itself.
func TestFastParseMatchesYAML(t *testing.T) {
	for name, data := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			ok := checkFast(t, data)
			if strings.Contains(name, "/valid/") && !ok && !bytes.Contains(data, []byte("&")) { // anchors are not in the subset
				t.Errorf("fastParse declined %s", name)
			}
			lines := bytes.SplitAfter(data, []byte("\n"))
			for i := range lines {
				checkFast(t, bytes.Join(lines[:i], nil))
				checkFast(t, bytes.Join(append(append([][]byte{}, lines[:i]...), lines[i+1:]...), nil))
			}
		})
	}
}

// TestFastParseCases covers the corners of the subset, each against
// yaml.v3; want says whether fastParse should read the text itself.
func TestFastParseCases(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"a:\nb: 1\n", true},
		{"a:   \n  # c\nb:\n", true},
		{"a:\n- x\n-\n- y\n-   # c\n", true},
		{"s:\n  - name: x\n    m: {a: 1, b: [1, 2], c: }\n  -\n    k: v\n", true},
		{"a: {}\nb: []\nc: { }\nd: [ ]\ne: {x: }\nf: {x: , y: 1}\n", true},
		{"a: 'it''s'\nb: \"q\"\n'c d' : e\n\"f\": ''\n", true},
		{"a:   b c   # x\nb: c#d\n", true},
		{"x: [a, b, ]\ny: [http://a:1/x, 'a?b']\n", true},
		{"y: [http://a:1/x?y=1]\n", false},
		{"# c\n\n  # d\na: 1\n", true},
		{"é: ü\nb: [é, x]  # ß\n", true},
		{"- a\n- b: c\n  d: e\n", true},
		{"a:\n  - b\n  -\n    c: d\n", true},
		{"a: -5\nb: 0x1F\nc: 1_000\nd: 1.5e3\ne: 2027-06-30\nf: .5\ng: 0o17\nh: ~\ni: Null\nj: yes\nk: <<\nl: 1e\nm: +.inf\nn: 0b101\no: -0o7\np: 99999999999999999999\nq: 2027-06-30T00:00:00Z\nr: 1.\n", true},
		{"a:\n\n  b: 1\n", true},
		{"a:\n  b\nc: d\n", true},
		{"b: -x\nc: [-x, -1]\n", true},
		{"a: -\n", false},
		{"a: x:y\nb: {x:y: 1}\n", true},
		{"a: {x:y}\n", false},
		{"a: b\n  c\n", false},
		{"a: b\n  # c\n  d\n", false},
		{"a: {b: 1}#c\n", false},
		{"a: b: c\n", false},
		{"a: &x 1\nb: *x\n", false},
		{"a: !!str 1\n", false},
		{"a: |\n  x\n", false},
		{"a: 1\n---\nb: 2\n", false},
		{"a:\tb\n", false},
		{"a: b\r\n", false},
		{"a: \"x\\ny\"\n", false},
		{"a: [1,\n  2]\n", false},
		{"? a\n: b\n", false},
		{"a: 1\n- b\n", false},
		{"- - a\n", false},
		{"a:\n  b: 1\n c: 2\n", false},
		{"{a: 1}\n", false},
		{"a\n", false},
		{"a: [b: c]\n", false},
		{"a: {b}\n", false},
		{"a: 'x\n  y'\n", false},
		{"a: 😀\n", false},
		{"\ufeffa: 1\n", false},
		{"", false},
		{"# only\n", false},
	} {
		got := checkFast(t, []byte(c.text))
		if got != c.want {
			t.Errorf("fastParse(%q) ok = %v, want %v", c.text, got, c.want)
		}
	}
}

// FuzzFastParse: whatever fastParse accepts, yaml.v3 reads to the same
// tree.
func FuzzFastParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Add([]byte("a: {b: [c, 'd', \"e\"], f: }\ng:\n- h: i\n  j: -1.5\n-\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkFast(t, data) })
}

// TestMergeKeysOnBothPaths: the merge-key files of testdata/invalid are
// read one by fastParse and one by yaml.v3 (an anchor is outside the
// subset), so the golden files show the refusal on both paths.
func TestMergeKeysOnBothPaths(t *testing.T) {
	for file, fast := range map[string]bool{"testdata/invalid/merge_keys.yaml": true, "testdata/invalid/merge_keys_anchor.yaml": false} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, fault := fastParse(data); ok != fast || fault != nil {
			t.Errorf("%s: fastParse ok = %v (fault %v), want %v", file, ok, fault, fast)
		}
	}
}

// TestFastParseFault: the parser's bail-out declines the text quietly, but
// any other panic is a fault placed where the parser was, which parseYAML
// reports instead of parsing the text again with yaml.v3.
func TestFastParseFault(t *testing.T) {
	p := &fastParser{src: "a: 1\nbb: é x\n"}
	if !p.scanLines() {
		t.Fatal("scanLines declined")
	}
	p.setLine(1)
	p.pos += 4 // at "é"
	if _, ok, fault := p.guard(func() (*tree, bool) { p.bail(); return nil, true }); ok || fault != nil {
		t.Errorf("bail-out: ok %v, fault %v; want declined without fault", ok, fault)
	}
	_, ok, fault := p.guard(func() (*tree, bool) { panic("index out of\nrange") })
	if ok || fault == nil {
		t.Fatalf("panic: ok %v, fault %v; want a fault", ok, fault)
	}
	if fault.Pos.Line != 2 || fault.Pos.Col != 5 || !strings.HasSuffix(fault.Msg, "index out of range") {
		t.Errorf("fault = %d:%d %q, want 2:5 ending in the panic on one line", fault.Pos.Line, fault.Pos.Col, fault.Msg)
	}
}
