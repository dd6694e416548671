package admin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// webFS holds the dashboard: index.html and the static files under /ui/.
//
//go:embed web
var webFS embed.FS

// dashboardCSP keeps the page to its own origin: no inline script, no
// third-party anything (the dashboard works offline).
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assetTypes are the content types of the file kinds the dashboard ships;
// they are fixed here rather than taken from the host's MIME tables.
var assetTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
}

// loadAssets reads every embedded file of web/ keyed by its path below it.
func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := assetTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "web/")] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out, err
}

// dashboard returns the embedded dashboard's files; they are compiled in,
// so failing here is a build defect.
func dashboard() map[string]asset {
	assets, err := loadAssets()
	if err != nil {
		panic("admin: reading the embedded dashboard: " + err.Error())
	}
	if _, ok := assets["index.html"]; !ok {
		panic("admin: the embedded dashboard has no index.html")
	}
	return assets
}

// handleIndex serves the dashboard's page at /.
func handleIndex(assets map[string]asset) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, assets["index.html"]) }
}

// handleAsset serves the dashboard's static files under /ui/.
func handleAsset(assets map[string]asset) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/ui/")
		as, ok := assets[name]
		if !ok || name == "index.html" {
			WriteError(w, http.StatusNotFound, errors.New("not found: GET "+r.URL.Path))
			return
		}
		serveAsset(w, r, as)
	}
}

// serveAsset writes one embedded file, or 304 when the client's copy is
// current.
func serveAsset(w http.ResponseWriter, r *http.Request, as asset) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", as.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(as.ctype, "text/html") {
		h.Set("Content-Security-Policy", dashboardCSP)
		h.Set("Referrer-Policy", "no-referrer")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, as.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", as.ctype)
	h.Set("Content-Length", strconv.Itoa(len(as.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(as.body)
	}
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
