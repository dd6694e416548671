package config

import "testing"

// TestMetaKeys: a Meta finds plain keys, list items and mapping entries
// (whose names may hold dots and brackets) by the names validation uses.
func TestMetaKeys(t *testing.T) {
	var m Meta
	at := func(line, col int) Pos { return Pos{File: "f.yaml", Line: line, Col: col} }
	m.At = at(1, 1)
	m.setKey("versions", at(2, 1), at(2, 11))
	m.setKey("versions.v2.1", at(3, 3), at(3, 9))
	m.setKey("versions.a[0]", at(4, 3), at(4, 9))
	m.setKey("rules", at(5, 1), at(6, 3))
	m.setKey("rules[1]", at(7, 5), at(7, 5))
	m.setKey("", at(9, 1), at(9, 1))
	for _, c := range []struct {
		key       string
		has       bool
		val, key2 Pos
	}{
		{"versions", true, at(2, 11), at(2, 1)},
		{"versions.v2.1", true, at(3, 9), at(3, 3)},
		{"versions.a[0]", true, at(4, 9), at(4, 3)},
		{"versions.v2", false, m.At, m.At},
		{"rules[1]", true, at(7, 5), at(7, 5)},
		{"rules[0]", false, m.At, m.At},
		{"rules[", false, m.At, m.At},
		{"rules[x]", false, m.At, m.At},
		{"rules.1", false, m.At, m.At},
		{"", true, at(9, 1), at(9, 1)},
	} {
		if got := m.Has(c.key); got != c.has {
			t.Errorf("Has(%q) = %v, want %v", c.key, got, c.has)
		}
		if got := m.PosOf(c.key); got != c.val {
			t.Errorf("PosOf(%q) = %v, want %v", c.key, got, c.val)
		}
		if got := m.KeyPos(c.key); got != c.key2 {
			t.Errorf("KeyPos(%q) = %v, want %v", c.key, got, c.key2)
		}
	}
	// Setting a key again moves it; past indexFrom keys a Meta indexes them.
	m.setKey("rules[1]", at(8, 5), at(8, 5))
	for i := 0; i < 3*indexFrom; i++ {
		m.setKey("services.s"+string(rune('a'+i)), at(20+i, 3), at(20+i, 6))
	}
	if m.index == nil {
		t.Fatal("no index past indexFrom keys")
	}
	if got := m.PosOf("rules[1]"); got != at(8, 5) {
		t.Errorf("PosOf(rules[1]) after a second setKey = %v", got)
	}
	if got := m.KeyPos("services.sc"); got != at(22, 3) {
		t.Errorf("KeyPos(services.sc) = %v", got)
	}
}

// TestReserveKeepsNeighbours: Metas that take their keys from the decoder's
// shared chunk never write into each other's, even past what was reserved.
func TestReserveKeepsNeighbours(t *testing.T) {
	d := &decoder{}
	var a, b Meta
	d.reserve(&a, 2)
	d.reserve(&b, 2)
	p := func(i int) Pos { return Pos{File: "f", Line: i, Col: 1} }
	b.add(keyRef{key: internKey("b0")}, p(10), p(10))
	b.add(keyRef{key: internKey("b1")}, p(11), p(11))
	for i := 0; i < 5; i++ {
		a.add(keyRef{key: internKey("a" + string(rune('0'+i)))}, p(i), p(i))
	}
	if !b.Has("b0") || !b.Has("b1") || b.Has("a2") || b.PosOf("b0").Line != 10 || b.PosOf("b1").Line != 11 {
		t.Fatalf("b's keys were overwritten: %+v", b.keys)
	}
	for i := 0; i < 5; i++ {
		if got := a.PosOf("a" + string(rune('0'+i))).Line; got != i {
			t.Fatalf("a%d at line %d", i, got)
		}
	}
}
