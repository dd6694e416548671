package core

import (
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/filevalue"
)

// TokensPath resolves admin.tokens_file: a relative path is taken relative
// to the configuration file's directory.
func TokensPath(cfg *config.Config) string { return RelPath(cfg, cfg.Admin.TokensFile) }

// AdminHosts are the host names, besides IP addresses and localhost, by
// which cfg lets clients address the admin port: admin.hosts and the host
// of admin.listen when it is a name.
func AdminHosts(cfg *config.Config) []string {
	host, _, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil || host == "" {
		return cfg.Admin.Hosts
	}
	return append(slices.Clip(cfg.Admin.Hosts), host)
}

// MinTokenLength is the shortest admin token Turnout starts with without a
// warning: 16 random characters are out of reach of online guessing.
const MinTokenLength = 16

// adminTokens gives the admin API the tokens of the configuration in
// force: admin.token_env's variable, read on every call, and the tokens
// file, loaded again when it changes (or when a reload names another
// file). A file that stops loading keeps its last good tokens. It is safe
// for concurrent use.
type adminTokens struct {
	cfg func() *config.Config
	now func() time.Time
	log *slog.Logger

	mu   sync.Mutex
	path string
	file *filevalue.Value[config.TokensFile]
}

// newAdminTokens loads cfg's tokens file, if any; a file that cannot be
// loaded is an error (Turnout does not start with admin access it cannot
// read).
func newAdminTokens(cfg *config.Config, current func() *config.Config, now func() time.Time, log *slog.Logger) (*adminTokens, error) {
	t := &adminTokens{cfg: current, now: now, log: log}
	if tok := os.Getenv(cfg.Admin.TokenEnv); tok != "" && len(tok) < MinTokenLength {
		// A valid token always passes the failed-token limit, so the
		// limit cannot slow the guessing of a short one.
		log.Warn("admin token is short: guessing it is not slowed by the failed-token limit; use a random one such as `openssl rand -hex 32`",
			"env", cfg.Admin.TokenEnv, "length", len(tok), "want_at_least", MinTokenLength)
	}
	if p := TokensPath(cfg); p != "" {
		f, err := t.load(p)
		if err != nil {
			return nil, err
		}
		t.path, t.file = p, f
	}
	return t, nil
}

func (t *adminTokens) load(path string) (*filevalue.Value[config.TokensFile], error) {
	return filevalue.New("admin.tokens_file", []string{path}, func() (*config.TokensFile, error) { return config.LoadTokens(path) }, t.now, t.log)
}

// Tokens returns the tokens accepted now.
func (t *adminTokens) Tokens() *admin.Tokens {
	cfg := t.cfg()
	var file *config.TokensFile
	if f := t.fileFor(TokensPath(cfg)); f != nil {
		file = f.Get()
	}
	return admin.NewTokens(file, os.Getenv(cfg.Admin.TokenEnv))
}

// fileFor returns the watched tokens file for path, switching to another
// file when a reload named one (and it loads).
func (t *adminTokens) fileFor(path string) *filevalue.Value[config.TokensFile] {
	t.mu.Lock()
	defer t.mu.Unlock()
	if path == t.path {
		return t.file
	}
	if path == "" {
		t.path, t.file = "", nil
		return nil
	}
	f, err := t.load(path)
	if err != nil {
		t.log.Error("admin.tokens_file cannot be loaded; keeping the previous tokens", "path", path, "error", err)
		return t.file
	}
	t.path, t.file = path, f
	return f
}
