// Package examples holds Turnout's runnable example configurations. The
// YAML files are documentation first; this package embeds the ones the
// binary needs, so `turnout demo` works from any directory.
package examples

import _ "embed"

// DemoYAML is examples/demo.yaml, the configuration `turnout demo` runs
// (with the upstream targets, listen addresses and state replaced).
//
//go:embed demo.yaml
var DemoYAML []byte

// BasicYAML is examples/basic.yaml, the annotated example of every
// commonly used setting.
//
//go:embed basic.yaml
var BasicYAML []byte
