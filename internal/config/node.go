package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// tree is a parsed YAML document reduced to what the decoder reads. Its
// nodes hold no pointers - values are ranges of text, children and alias
// targets are indexes into nodes - so the garbage collector neither scans
// nor write-barriers them: 32 bytes a node where a yaml.Node takes 152 plus
// a pointer per child. fastParse builds a tree directly; a yaml.v3 tree is
// converted by fromYAML.
type tree struct {
	text  string // the values, as ranges
	nodes []node // nodes[0] is the document
}

type node struct {
	kind  nodeKind
	tag   nodeTag
	style uint8 // yaml.Style's quoting and flow bits, for the tests
	line  int32
	col   int32
	vs    int32 // the value is text[vs:ve]
	ve    int32
	// first and n are a document's node, a sequence's items, or a mapping's
	// keys and values alternately: nodes[first:first+n].
	first int32
	n     int32
	alias int32 // index+1 of the node an alias names; 0 when none
}

func (t *tree) value(n *node) string { return t.text[n.vs:n.ve] }

func (t *tree) children(n *node) []node { return t.nodes[n.first : n.first+n.n] }

// resolve follows aliases to the node they name.
func (t *tree) resolve(n *node) *node {
	for i := 0; n.kind == aliasNode && n.alias > 0 && i < 1000; i++ {
		n = &t.nodes[n.alias-1]
	}
	return n
}

// nodeKind is a yaml.Kind in a byte.
type nodeKind uint8

const (
	documentNode = nodeKind(yaml.DocumentNode)
	sequenceNode = nodeKind(yaml.SequenceNode)
	mappingNode  = nodeKind(yaml.MappingNode)
	scalarNode   = nodeKind(yaml.ScalarNode)
	aliasNode    = nodeKind(yaml.AliasNode)
)

// Style bits kept in node.style.
const (
	styleDouble = uint8(yaml.DoubleQuotedStyle)
	styleSingle = uint8(yaml.SingleQuotedStyle)
	styleFlow   = uint8(yaml.FlowStyle)
)

// nodeTag is a node's resolved tag; tagOther stands for any tag the decoder
// has no use for beyond its not being one of these.
type nodeTag uint8

const (
	tagNone nodeTag = iota
	tagNull
	tagBool
	tagStr
	tagInt
	tagFloat
	tagTimestamp
	tagMerge
	tagMap
	tagSeq
	tagOther
)

var tagNames = [...]string{tagNone: "", tagNull: "!!null", tagBool: "!!bool", tagStr: "!!str", tagInt: "!!int",
	tagFloat: "!!float", tagTimestamp: "!!timestamp", tagMerge: "!!merge", tagMap: "!!map", tagSeq: "!!seq", tagOther: "!?"}

// tagOf maps a yaml.v3 (short) tag to a nodeTag.
func tagOf(s string) nodeTag {
	for i, name := range tagNames[:tagOther] {
		if name == s {
			return nodeTag(i)
		}
	}
	return tagOther
}

// fromYAML converts a yaml.v3 tree.
func fromYAML(y *yaml.Node) *tree {
	t := &tree{}
	var text strings.Builder
	at := map[*yaml.Node]int32{}
	var aliases []*yaml.Node
	var conv func(i int32, y *yaml.Node)
	conv = func(i int32, y *yaml.Node) {
		at[y] = i
		vs := int32(text.Len())
		text.WriteString(y.Value)
		t.nodes[i] = node{kind: nodeKind(y.Kind), tag: tagOf(y.Tag), style: uint8(y.Style) & (styleDouble | styleSingle | styleFlow),
			line: int32(y.Line), col: int32(y.Column), vs: vs, ve: int32(text.Len())}
		if y.Kind == yaml.AliasNode {
			aliases = append(aliases, y)
		}
		if len(y.Content) > 0 {
			first := int32(len(t.nodes))
			t.nodes = append(t.nodes, make([]node, len(y.Content))...)
			t.nodes[i].first, t.nodes[i].n = first, int32(len(y.Content))
			for j, c := range y.Content {
				conv(first+int32(j), c)
			}
		}
	}
	t.nodes = make([]node, 1, 64)
	conv(0, y)
	for _, a := range aliases {
		if target, ok := at[a.Alias]; ok && a.Alias != nil {
			t.nodes[at[a]].alias = target + 1
		}
	}
	t.text = text.String()
	return t
}
