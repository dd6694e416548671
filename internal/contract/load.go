package contract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/load"
	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds each file a document is read from.
const MaxFileSize = 16 << 20

// Document is a loaded, validated OpenAPI document. Spec is kin-openapi's
// parsed document with every $ref resolved and origins (file, line, column)
// recorded; it is shared and must not be modified. A Document is safe for
// concurrent reads.
type Document struct {
	// Path is the document's file as it was given to Load.
	Path string
	// Spec is the parsed document.
	Spec *openapi3.T
	// Hash identifies the document by the content of every file it was read
	// from (the root and each file a $ref reached), hex-encoded SHA-256.
	Hash string
	// files maps each file read (as the loader named it) to its content.
	files map[string][]byte
}

// OpenAPI returns the document's `openapi` version, e.g. "3.0.3".
func (d *Document) OpenAPI() string { return d.Spec.OpenAPI }

// Is31 reports whether the document is OpenAPI 3.1 or later.
func (d *Document) Is31() bool { return d.Spec.IsOpenAPI31OrLater() }

// Files returns the files the document was read from, sorted.
func (d *Document) Files() []string {
	out := make([]string, 0, len(d.files))
	for f := range d.files {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// specInfo is the document as oasdiff's diff package takes it.
func (d *Document) specInfo() *load.SpecInfo {
	v := ""
	if d.Spec.Info != nil {
		v = d.Spec.Info.Version
	}
	return &load.SpecInfo{Url: d.Path, Spec: d.Spec, Version: v}
}

// LoadError is a document that cannot be read, parsed or validated. File is
// the file at fault (the document or a file one of its $refs reached); Line
// and Col are set when the parser or validator tells where.
type LoadError struct {
	File      string
	Line, Col int
	Msg       string
	Err       error
}

// Error formats the problem as FILE:LINE:COL: message.
func (e *LoadError) Error() string {
	return Location{File: e.File, Line: e.Line, Column: e.Col}.String() + ": " + e.Msg
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// Load reads the OpenAPI document at path (3.0 or 3.1, YAML or JSON), resolves
// its $refs (inside the document, or to local files relative to it; remote
// references are refused) and validates it (examples are not checked against
// their schemas). Every failure is a *LoadError naming the file and, when
// known, the line and column.
func Load(path string) (*Document, error) {
	r := &reader{files: map[string][]byte{}, trees: map[string]*yaml.Node{}}
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = r.read
	spec, err := loader.LoadFromFile(path)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			return nil, le
		}
		if le := locateWrongKind(r.trees, err); le != nil {
			return nil, le
		}
		// Problems the pre-checks did not catch: kin-openapi does not say
		// where.
		return nil, &LoadError{File: path, Msg: "invalid OpenAPI document: " + err.Error(), Err: err}
	}
	if err := validate(spec); err != nil {
		le := &LoadError{File: path, Msg: "invalid OpenAPI document: " + err.Error(), Err: err}
		if loc := originOf(err); loc != nil {
			le.File, le.Line, le.Col = loc.File, loc.Line, loc.Column
		}
		return nil, le
	}
	return &Document{Path: path, Spec: spec, Hash: hashFiles(r.files), files: r.files}, nil
}

// validate checks the document's structure the way kin-openapi does, without
// checking examples (they do not change a contract). Whether it is OpenAPI 3
// at all was checked when it was read.
func validate(spec *openapi3.T) error {
	return spec.Validate(context.Background(), openapi3.DisableExamplesValidation())
}

// reader is the loader's only way to files: local paths, each size-checked,
// syntax- and reference-checked with positions, and remembered for hashing.
type reader struct {
	files map[string][]byte
	trees map[string]*yaml.Node
}

func (r *reader) read(_ *openapi3.Loader, loc *url.URL) ([]byte, error) {
	if loc.Scheme != "" && loc.Scheme != "file" || loc.Host != "" {
		return nil, &LoadError{File: loc.String(), Msg: "remote references are not followed; keep the document and its $refs in local files"}
	}
	name := filepath.FromSlash(loc.Path)
	if data, ok := r.files[name]; ok {
		return data, nil
	}
	data, err := readFile(name)
	if err != nil {
		return nil, err
	}
	tree, err := checkSyntax(name, data)
	if err != nil {
		return nil, err
	}
	if len(r.files) == 0 { // the document itself, not a file a $ref reached
		if err := checkRoot(name, tree); err != nil {
			return nil, err
		}
	}
	r.files[name], r.trees[name] = data, tree
	return data, nil
}

// readFile reads a file of at most MaxFileSize bytes.
func readFile(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, &LoadError{File: name, Msg: "cannot read: " + unwrapPathError(err), Err: err}
	}
	if st.IsDir() {
		return nil, &LoadError{File: name, Msg: "is a directory, not an OpenAPI document"}
	}
	if st.Size() > MaxFileSize {
		return nil, &LoadError{File: name, Msg: fmt.Sprintf("is %d bytes, more than the %d allowed", st.Size(), MaxFileSize)}
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, &LoadError{File: name, Msg: "cannot read: " + unwrapPathError(err), Err: err}
	}
	return data, nil
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// hashFiles hashes every file's name and content in name order.
func hashFiles(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(h, "%s\x00%x\n", n, sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}
