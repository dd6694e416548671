package contract

import (
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3conv"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
)

// Compare reports what changed from old to new that matters to old's
// clients, with every oasdiff check at every level (ERR, WARN, INFO).
//
// A pair that mixes OpenAPI 3.0 and 3.1 is compared after the 3.0 document
// is upgraded to the 3.1 form (kin-openapi's openapi3conv.Upgrade: nullable
// becomes a type array, boolean exclusive bounds become numbers, example
// becomes examples), so that writing the same schema the 3.1 way is not
// reported as a change. The upgrade works on a copy; old and new are not
// modified.
func Compare(old, new *Document) (r *Report, err error) {
	defer func() {
		// oasdiff is a large rule set run on documents we do not control:
		// a panic in it must not take the gateway down with it.
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("comparing %s with %s: oasdiff failed: %v", old.Path, new.Path, p)
		}
	}()
	a, b := old, new
	if old.Is31() != new.Is31() {
		if a, err = upgraded(old); err != nil {
			return nil, err
		}
		if b, err = upgraded(new); err != nil {
			return nil, err
		}
	}
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), a.specInfo(), b.specInfo())
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", old.Path, new.Path, err)
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.INFO)
	loc := checker.NewDefaultLocalizer()
	r = &Report{Old: old.Path, New: new.Path, Items: make([]Item, 0, len(changes))}
	for _, c := range changes {
		it := Item{Level: level(c.GetLevel()), ID: c.GetId(), Message: c.GetUncolorizedText(loc), Comment: c.GetComment(loc)}
		if m, p := c.GetOperation(), c.GetPath(); m != "" && p != "" {
			it.Operation = m + " " + p
		}
		if s := c.GetRevisionSource(); s != nil && s.File != "" {
			it.Source = &Location{File: s.File, Line: s.Line, Column: s.Column}
		} else if s := c.GetBaseSource(); s != nil && s.File != "" {
			it.Source = &Location{File: s.File, Line: s.Line, Column: s.Column}
		}
		r.Items = append(r.Items, it)
	}
	return r, nil
}

// level maps oasdiff's levels onto ours.
func level(l checker.Level) Level {
	switch l {
	case checker.ERR:
		return ERR
	case checker.WARN:
		return WARN
	}
	return INFO
}

// upgraded returns d in the OpenAPI 3.1 form: d itself when it already is,
// else a fresh parse of the same bytes, upgraded.
func upgraded(d *Document) (*Document, error) {
	if d.Is31() {
		return d, nil
	}
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, loc *url.URL) ([]byte, error) {
		if data, ok := d.files[filepath.FromSlash(loc.Path)]; ok {
			return data, nil
		}
		return nil, fmt.Errorf("%s was not part of the document when it was loaded", loc)
	}
	spec, err := loader.LoadFromFile(d.Path)
	if err != nil {
		return nil, fmt.Errorf("upgrading %s to OpenAPI 3.1: %w", d.Path, err)
	}
	openapi3conv.Upgrade(spec)
	return &Document{Path: d.Path, Spec: spec, Hash: d.Hash, files: d.files}, nil
}
