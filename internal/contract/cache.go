package contract

import (
	"bytes"
	"os"
	"sync"
)

// Cache remembers loaded documents by path and reports by the pair of
// document hashes, so loading the same configuration again re-reads the
// documents' files but parses, validates and compares nothing that did not
// change. It is safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	docs    map[string]*Document
	reports map[[2]string]*Report
	// loads and compares count the real (uncached) work, for tests.
	loads, compares int
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{docs: map[string]*Document{}, reports: map[[2]string]*Report{}}
}

// Load returns the document at path: the cached one when every file it was
// read from still has the same content, else a fresh Load.
func (c *Cache) Load(path string) (*Document, error) {
	c.mu.Lock()
	d := c.docs[path]
	c.mu.Unlock()
	if d != nil && !d.Changed() {
		return d, nil
	}
	d, err := Load(path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.docs[path] = d
	c.loads++
	c.mu.Unlock()
	return d, nil
}

// Compare returns the report from old to new, computed once per pair of
// document hashes.
func (c *Cache) Compare(old, new *Document) (*Report, error) {
	key := [2]string{old.Hash, new.Hash}
	c.mu.Lock()
	r := c.reports[key]
	c.mu.Unlock()
	if r != nil {
		return r, nil
	}
	r, err := Compare(old, new)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.reports[key] = r
	c.compares++
	c.mu.Unlock()
	return r, nil
}

// Retain forgets every document not in keep and every report not between
// two of them, so the cache holds what the live configuration uses.
func (c *Cache) Retain(keep []*Document) {
	hashes := make(map[string]bool, len(keep))
	paths := make(map[string]*Document, len(keep))
	for _, d := range keep {
		hashes[d.Hash] = true
		paths[d.Path] = d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, d := range c.docs {
		if paths[p] != d {
			delete(c.docs, p)
		}
	}
	for k := range c.reports {
		if !hashes[k[0]] || !hashes[k[1]] {
			delete(c.reports, k)
		}
	}
}

// Changed reports whether any file the document was read from now has
// different content or cannot be read.
func (d *Document) Changed() bool {
	for name, data := range d.files {
		st, err := os.Stat(name)
		if err != nil || st.Size() != int64(len(data)) {
			return true
		}
		now, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(now, data) {
			return true
		}
	}
	return false
}
