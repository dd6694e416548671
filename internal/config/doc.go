// Package config owns Turnout's configuration: the YAML file decoded strictly
// into a plain struct tree (unknown keys, wrong types and duplicate names are
// errors), the documented defaults, and a fast, I/O-free Validate per node
// whose errors name FILE:LINE:COL.
//
// The tree is the desired spec. It is compiled into an immutable runtime
// table by package route; nothing here runs per request. A *Config is not
// modified after Load returns and may be shared freely.
package config
