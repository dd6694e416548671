package config

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parseYAML parses data as one YAML document; empty input gives an empty
// node. A further document that is not empty is an error, since it would
// otherwise be silently ignored. A panic inside the YAML parser is turned
// into an error so that a bad file can never take the gateway down.
//
// Text in the plain subset that fastParse reads is parsed by it; anything
// else, and every text with a syntax error, by yaml.v3 (a fault of
// fastParse is reported, never retried with yaml.v3). aliases reports
// that the tree came from yaml.v3 and may hold aliases.
func parseYAML(file string, data []byte) (root *tree, aliases bool, perr *Error) {
	if root, ok, fault := fastParse(data); ok {
		return root, false, nil
	} else if fault != nil {
		fault.Pos.File = file
		return nil, false, fault
	}
	defer func() {
		if r := recover(); r != nil {
			root, aliases, perr = nil, false, &Error{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "invalid YAML: the parser failed: " + strings.Join(strings.Fields(fmt.Sprint(r)), " ")}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, false, syntaxError(file, data, err)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		switch {
		case err == io.EOF:
			return fromYAML(&doc), true, nil
		case err != nil:
			return nil, false, syntaxError(file, data, err)
		case len(extra.Content) > 0 && !(extra.Content[0].Kind == yaml.ScalarNode && extra.Content[0].Tag == "!!null"):
			return nil, false, &Error{Pos: Pos{File: file, Line: max(extra.Line, 1), Col: max(extra.Column, 1)},
				Msg: "invalid YAML: a configuration is a single document; remove this \"---\" and merge what follows into the first document"}
		}
	}
}

var (
	yamlLine      = regexp.MustCompile(`line (\d+)`)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parserProblems are the yaml.v3 parser (not scanner) errors. yaml.v3 reports
// their line 0-based, one less than the line it means: the line where the
// enclosing mapping or sequence starts.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError converts a yaml.v3 parse error about data into an *Error with a
// position (yaml.v3 reports lines but not columns; the column is then 1).
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
		if slices.Contains(parserProblems, msg) {
			line++
			if l, c, fits, ok := misindented(data, line); ok && (msg == "did not find expected key" || msg == "did not find expected '-' indicator") {
				msg := fmt.Sprintf("invalid YAML: this line is indented by %d spaces, which matches none of the blocks around it (indented by %s); align it with the keys it belongs with", c-1, indentHint(fits))
				return &Error{Pos: Pos{File: file, Line: l, Col: c}, Msg: msg}
			}
		}
	}
	col := 1
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// yaml.v3 gives no line here: point at the first use of the alias.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
			col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	}
	if line < 1 {
		line = 1
	}
	msg = strings.Join(strings.Fields(msg), " ") // one line per problem
	return &Error{Pos: Pos{File: file, Line: line, Col: col}, Msg: "invalid YAML: " + msg}
}
