package config

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
)

// TokensFile is the file admin.tokens_file names: the named bearer tokens
// of the admin API and what each may do. It is decoded as strictly as the
// configuration (unknown keys, FILE:LINE:COL errors).
//
//	tokens:
//	  - { name: alice, role: operator, sha256: 2bb80d53... }   # hex SHA-256 of the token
//	  - { name: grafana, role: viewer, token: "plain secret" }
type TokensFile struct {
	Meta   `yaml:"-"`
	Tokens []*AdminToken `yaml:"tokens"`
}

// AdminToken is one named token: exactly one of Token (the secret itself)
// or SHA256 (the hex SHA-256 of the secret, so the file holds no secret).
type AdminToken struct {
	Meta   `yaml:"-"`
	Name   string `yaml:"name"`
	Role   string `yaml:"role"` // viewer | operator
	Token  string `yaml:"token"`
	SHA256 string `yaml:"sha256"`
}

// Admin roles: a viewer reads, an operator reads and acts.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
)

// LoadTokens reads, decodes and validates a tokens file; its errors are
// Errors naming FILE:LINE:COL.
func LoadTokens(path string) (*TokensFile, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTokens(path, data)
}

// ParseTokens decodes and validates tokens file text; file names it in
// error positions.
func ParseTokens(path string, data []byte) (*TokensFile, error) {
	root, aliases, perr := parseYAML(path, data)
	if perr != nil {
		return nil, Errors{perr}
	}
	f := &TokensFile{}
	d := newDecoder(path, root, aliases)
	if root.nodes[0].kind != 0 {
		d.decode(&root.nodes[0], reflect.ValueOf(f).Elem(), typeInfoOf(reflect.TypeOf(f).Elem()))
	}
	f.Meta.At = Pos{File: path, Line: 1, Col: 1}
	if err := d.errs.err(); err != nil {
		return nil, Flatten(err)
	}
	if err := f.Validate(); err != nil {
		return nil, Flatten(err)
	}
	return f, nil
}

// Validate checks that there is at least one token, that names are unique,
// roles known, and each token is given as exactly one of token or sha256.
func (f *TokensFile) Validate() error {
	var col collector
	if len(f.Tokens) == 0 {
		col.add(f.missing("tokens", "needs at least one token: a list of {name, role, token or sha256}"))
	}
	seen := map[string]int{}
	for i, t := range f.Tokens {
		path := fmt.Sprintf("tokens[%d]", i)
		if t == nil {
			col.add(&Error{Pos: f.PosOf("tokens"), Msg: path + ": empty token; it needs name, role and token or sha256"})
			continue
		}
		if j, dup := seen[t.Name]; dup && t.Name != "" {
			col.add(nest(path, t.problem("name", "%q is already the name of tokens[%d]; names must be unique", t.Name, j)))
		}
		seen[t.Name] = i
		col.add(nest(path, t.Validate()))
	}
	return col.err()
}

// Validate checks one token entry.
func (t *AdminToken) Validate() error {
	var col collector
	if t.Name == "" {
		col.add(t.missing("name", "required: the name events record as the actor"))
	} else if strings.ContainsFunc(t.Name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		col.add(t.problem("name", "%q must not hold spaces or control characters", t.Name))
	}
	switch t.Role {
	case RoleViewer, RoleOperator:
	case "":
		col.add(t.missing("role", "required: viewer (reads) or operator (reads and acts)"))
	default:
		col.add(t.problem("role", "%q is not a role; use viewer or operator", t.Role))
	}
	switch {
	case t.Token == "" && t.SHA256 == "":
		col.add(t.missing("token", "one of token (the secret) or sha256 (its hex SHA-256) is required"))
	case t.Token != "" && t.SHA256 != "":
		col.add(t.keyProblem("sha256", "give token or sha256, not both"))
	case t.SHA256 != "":
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 {
			col.add(t.problem("sha256", "must be 64 hexadecimal digits (sha256sum of the token)"))
		}
	}
	return col.err()
}
