package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
)

// Cluster makes this Turnout one member of a fleet that shares rollout
// state, the event log, membership and one leader through etcd
// (internal/cluster). Without the block Turnout is a single process.
type Cluster struct {
	Meta `yaml:"-"`
	Etcd Etcd `yaml:"etcd"`
	// Member names this member in the fleet (default: the host name);
	// two members of one fleet must not share a name.
	Member string `yaml:"member"`
	// Advertise is the URL at which the other members reach this member's
	// admin port (default: admin.listen, with the host name for a
	// wildcard address, https with admin.tls; with port 0, empty here and
	// the port bound, filled in by the gateway).
	Advertise string `yaml:"advertise"`
	// Lease is the TTL of the member's registration and of the leader's
	// claim (DefaultClusterLease, at least MinClusterLease, whole
	// seconds: etcd leases count seconds): a member that stops renewing
	// is gone, and a leader that stops is replaced, within it.
	Lease Duration `yaml:"lease"`
}

// Etcd says how to reach the etcd cluster and where in its key space the
// fleet keeps its keys.
type Etcd struct {
	Meta      `yaml:"-"`
	Endpoints []string `yaml:"endpoints"`
	// Prefix is the key prefix of this fleet (DefaultEtcdPrefix): every
	// Turnout configured with the same endpoints and prefix is one fleet.
	Prefix string   `yaml:"prefix"`
	TLS    *EtcdTLS `yaml:"tls"`
	// Username authenticates to etcd with the password read from the
	// environment variable PasswordEnv (both or neither).
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
}

// EtcdTLS verifies etcd's certificate against CA (the system roots when
// empty) and presents Cert and Key when etcd asks for a client certificate.
type EtcdTLS struct {
	Meta `yaml:"-"`
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Cluster defaults and bounds.
const (
	DefaultEtcdPrefix   = "/turnout/default"
	DefaultClusterLease = 5 * time.Second
	MinClusterLease     = time.Second
)

// applyDefaults fills the member name, the advertised URL (from admin, whose
// defaults are applied first), the prefix and the lease. A host name that
// cannot be read leaves member empty, for Validate to report.
func (c *Cluster) applyDefaults(admin *Admin) {
	if c.Etcd.Prefix == "" && !c.Etcd.Has("prefix") {
		c.Etcd.Prefix = DefaultEtcdPrefix
	}
	if c.Lease == 0 && !c.Has("lease") {
		c.Lease = Duration(DefaultClusterLease)
	}
	host, _ := os.Hostname()
	if c.Member == "" && !c.Has("member") {
		c.Member = host
	}
	if c.Advertise == "" && !c.Has("advertise") {
		c.Advertise = advertiseFor(admin, host)
	}
}

// advertiseFor is the URL of the admin listener as a peer would dial it:
// a wildcard host becomes the host name.
func advertiseFor(admin *Admin, hostname string) string {
	h, port, err := net.SplitHostPort(admin.Listen)
	if err != nil || port == "0" {
		return "" // the gateway fills in the port it binds
	}
	if anyHost(h) {
		h = hostname
	}
	scheme := "http"
	if admin.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(h, port)
}

// Validate checks the cluster block: endpoints, prefix, credentials, a
// member name fit for a key, an advertised http(s) URL and a lease of
// whole seconds, at least MinClusterLease. It does no I/O.
func (c *Cluster) Validate() error {
	var col collector
	col.add(nest("etcd", c.Etcd.Validate()))
	if msg := memberProblem(c.Member); msg != "" {
		col.add(c.missing("member", "%s", msg))
	}
	if c.Advertise == "" && c.Has("advertise") {
		col.add(c.problem("advertise", "must not be empty: the URL at which the other members reach this admin port, e.g. http://10.0.0.5:9901 (leave advertise out for admin.listen)"))
	} else if msg := checkHTTPURL(c.Advertise, false); c.Advertise != "" && msg != "" {
		col.add(c.problem("advertise", "%s", msg))
	}
	switch d := c.Lease.D(); {
	case d < MinClusterLease:
		col.add(c.problem("lease", "%v is too short; at least %v (the default is %v)", d, MinClusterLease, DefaultClusterLease))
	case d%time.Second != 0:
		col.add(c.problem("lease", "%v: use whole seconds (etcd leases count seconds), e.g. 5s", d))
	}
	return col.err()
}

// memberProblem returns what is wrong with a member name, or "": it is a
// key segment in etcd, so no '/', whitespace or control characters.
func memberProblem(name string) string {
	if name == "" {
		return "required: the host name is not available; name this member, e.g. member: gw-1"
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Sprintf("%q must not contain '/' or whitespace", name)
	}
	return ""
}

// Validate checks how etcd is reached.
func (e *Etcd) Validate() error {
	var col collector
	if len(e.Endpoints) == 0 {
		col.add(e.missing("endpoints", "at least one etcd client URL is required, e.g. [http://127.0.0.1:2379]"))
	}
	https := false
	for i, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		if msg := checkHTTPURL(ep, false); msg != "" {
			col.add(e.problem("endpoints", "endpoints[%d]: %s", i, msg))
		} else if err == nil && u.Path != "" && u.Path != "/" {
			col.add(e.problem("endpoints", "endpoints[%d]: %q must not have a path; an etcd endpoint is scheme://host:port", i, ep))
		} else if err == nil && u.Scheme == "https" {
			https = true
		}
	}
	switch p := e.Prefix; {
	case !strings.HasPrefix(p, "/") || len(p) < 2:
		col.add(e.missing("prefix", "%q: want a key prefix starting with '/', e.g. %s", p, DefaultEtcdPrefix))
	case strings.HasSuffix(p, "/") || strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		col.add(e.problem("prefix", "%q must not end with '/' or contain whitespace", p))
	}
	if e.TLS != nil {
		col.add(nest("tls", e.TLS.Validate()))
		if !https && len(e.Endpoints) > 0 {
			col.add(e.keyProblem("tls", "tls is set but no endpoint is https://"))
		}
	}
	if (e.Username == "") != (e.PasswordEnv == "") {
		key := "username"
		if e.Username != "" {
			key = "password_env"
		}
		col.add(e.missing(key, "username and password_env go together"))
	}
	if e.PasswordEnv != "" && !validEnvName(e.PasswordEnv) {
		col.add(e.problem("password_env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit)", e.PasswordEnv))
	}
	return col.err()
}

// Validate checks that a client certificate comes with its key.
func (t *EtcdTLS) Validate() error {
	if (t.Cert == "") != (t.Key == "") {
		key := "cert"
		if t.Cert != "" {
			key = "key"
		}
		return t.missing(key, "cert and key go together")
	}
	return nil
}
