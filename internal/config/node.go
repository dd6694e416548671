package config

import "gopkg.in/yaml.v3"

// node is a parsed YAML node reduced to what the decoder reads: 64 bytes
// where a yaml.Node takes 152, with the children of a collection stored
// side by side. fastParse builds these directly; a yaml.v3 tree is
// converted by fromYAML.
type node struct {
	kind  nodeKind
	tag   nodeTag
	style uint8 // yaml.Style's quoting and flow bits, for the tests
	line  int32
	col   int32
	value string
	// content holds a document's node, a sequence's items, or a mapping's
	// keys and values alternately.
	content []node
	alias   *node // the node an alias names
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
func fromYAML(y *yaml.Node) *node {
	at := map[*yaml.Node]*node{}
	var aliases []*yaml.Node
	var conv func(dst *node, y *yaml.Node)
	conv = func(dst *node, y *yaml.Node) {
		at[y] = dst
		*dst = node{kind: nodeKind(y.Kind), tag: tagOf(y.Tag), style: uint8(y.Style) & (styleDouble | styleSingle | styleFlow),
			line: int32(y.Line), col: int32(y.Column), value: y.Value}
		if y.Kind == yaml.AliasNode {
			aliases = append(aliases, y)
		}
		if len(y.Content) > 0 {
			dst.content = make([]node, len(y.Content))
			for i, c := range y.Content {
				conv(&dst.content[i], c)
			}
		}
	}
	root := &node{}
	conv(root, y)
	for _, a := range aliases {
		if a.Alias != nil {
			at[a].alias = at[a.Alias]
		}
	}
	return root
}
