package config

import (
	"strings"
	"time"
)

// Config is the whole configuration file: the desired spec of the gateway.
// It is a plain struct tree produced by Load; after Load returns it is not
// modified and may be shared freely.
type Config struct {
	Meta `yaml:"-"`

	// File is the path the configuration was read from ("" for in-memory input).
	File string `yaml:"-"`

	Listen string     `yaml:"listen"`
	TLS    *ServerTLS `yaml:"tls"`
	Admin  Admin      `yaml:"admin"`
	State  string     `yaml:"state"`
	XDS    *XDS       `yaml:"xds"`
	// Prometheus is where rollouts whose analysis has source: prometheus
	// read their numbers (each analysis may override it key by key).
	Prometheus *Prometheus          `yaml:"prometheus"`
	Log        Log                  `yaml:"log"`
	Limits     Limits               `yaml:"limits"`
	Trust      *Trust               `yaml:"trust"`
	Upstreams  map[string]*Upstream `yaml:"upstreams"`
	Services   map[string]*Service  `yaml:"services"`
	// Cluster makes this Turnout a member of a fleet sharing its rollouts
	// through etcd; nil is a single process.
	Cluster *Cluster `yaml:"cluster"`

	// serviceNames are the keys of Services, sorted once by Decode: a
	// reload asks for them several times.
	serviceNames []string
}

// ServerTLS configures HTTPS (with h2 by ALPN) on the data plane. When Listen
// is empty the main listener serves TLS; otherwise HTTPS is served on Listen in
// addition to the plain listener.
type ServerTLS struct {
	Meta   `yaml:"-"`
	Listen string `yaml:"listen"`
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
	// ClientCA is the PEM bundle of the CAs whose client certificates are
	// verified. Without it no client certificate is asked for.
	ClientCA string `yaml:"client_ca"`
	// Require refuses the handshake of a client without a valid
	// certificate; otherwise a certificate is verified when one is given.
	Require bool `yaml:"require"`
	// MinVersion is the lowest TLS version accepted: "1.2" (the default)
	// or "1.3".
	MinVersion string `yaml:"min_version"`
}

// AdminTLS serves the admin port over HTTPS.
type AdminTLS struct {
	Meta `yaml:"-"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Admin configures the admin API, dashboard and metrics listener.
type Admin struct {
	Meta     `yaml:"-"`
	Listen   string `yaml:"listen"`
	TokenEnv string `yaml:"token_env"`
	// TokensFile names a file of named tokens with roles (viewer, operator);
	// see package admin. With it every API read needs a token too.
	TokensFile string    `yaml:"tokens_file"`
	TLS        *AdminTLS `yaml:"tls"`
	// Hosts are the host names, besides IP addresses and localhost, by
	// which clients may address the admin port (a DNS name, the name
	// behind a proxy); requests naming any other host are refused
	// (DNS rebinding). A name in Listen is allowed as well.
	Hosts []string `yaml:"hosts"`
}

// XDS configures the optional Envoy xDS (ADS) server.
type XDS struct {
	Meta   `yaml:"-"`
	Listen string `yaml:"listen"`
	// EnvoyListen is the address of the listener Turnout gives Envoy nodes
	// (the data-plane port of each Envoy); DefaultEnvoyListen when empty.
	// Turnout does not bind it itself.
	EnvoyListen string `yaml:"envoy_listen"`
	// AuthzCluster is the name of the cluster in the Envoy bootstrap that
	// reaches Turnout's xDS server (DefaultAuthzCluster when empty): with a
	// trust block, Envoy asks Turnout's ext_authz service through it which
	// colour a request may keep (internal/xds).
	AuthzCluster string `yaml:"authz_cluster"`
}

// Log configures process logging.
type Log struct {
	Meta   `yaml:"-"`
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
	// Access turns the access log on: one JSON line per request, to
	// stdout, stderr or a file path (relative to the configuration file's
	// directory). Empty: no access log.
	Access string `yaml:"access"`
}

// Limits bounds what the data plane buffers and waits for.
type Limits struct {
	Meta `yaml:"-"`
	// FallbackBody is the request body buffer (DefaultFallbackBody): a
	// body up to it, declared or chunked, is read whole before any
	// upstream is chosen (its framing and completeness checked first, no
	// upstream connection held while a slow client sends) and kept so that
	// a failed request can be retried on the fallback version. Larger
	// bodies, gRPC calls and upgrades stream through and are not retried.
	FallbackBody Size `yaml:"fallback_body"`
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes idle client keep-alive connections.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownGrace bounds how long SIGTERM and SIGINT wait for in-flight
	// requests after the listeners stop accepting (DefaultShutdownGrace).
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// MaxHeaderBytes bounds the size of request headers (431).
	MaxHeaderBytes Size `yaml:"max_header_bytes"`
	// MaxResponseHeaderBytes bounds the size of an upstream answer's
	// status line and headers (DefaultMaxResponseHeaderBytes); a larger
	// one is answered 502.
	MaxResponseHeaderBytes Size `yaml:"max_response_header_bytes"`
	// MaxInFlight caps the data-plane requests served at once; more are
	// answered 503 with Retry-After.
	MaxInFlight int `yaml:"max_in_flight"`
	// RequestBodyTimeout bounds receiving a request body, from the end of
	// its head (DefaultRequestBodyTimeout); a body not in by then is
	// answered 408, the client's failure. gRPC calls and upgrades are exempt.
	RequestBodyTimeout Duration `yaml:"request_body_timeout"`
	// WriteTimeout bounds each write of an answer to a client that does not
	// read (DefaultWriteTimeout); the connection is then closed.
	WriteTimeout Duration `yaml:"write_timeout"`
	// MaxRequestBodyBytes caps request bodies (0: no cap); a larger one is
	// answered 413, the client's failure.
	MaxRequestBodyBytes Size `yaml:"max_request_body_bytes"`
}

// Upstream is a named pool of targets.
type Upstream struct {
	Meta     `yaml:"-"`
	Name     string       `yaml:"-"`
	Targets  []string     `yaml:"targets"`
	Protocol string       `yaml:"protocol"` // http1 | h2 | h2c
	Health   *Health      `yaml:"health"`
	Timeout  Duration     `yaml:"timeout"`
	TLS      *UpstreamTLS `yaml:"tls"`
	// EjectAfter is the number of consecutive connect failures after which a
	// target is taken out of rotation until a health check (or, without
	// health checks, EjectFor) brings it back.
	EjectAfter int      `yaml:"eject_after"`
	EjectFor   Duration `yaml:"eject_for"`
	// MaxConnections caps the requests in flight to each target (and so
	// its HTTP/1 connections); a request finding every target full is
	// answered 503 at once.
	MaxConnections int `yaml:"max_connections"`
	// H2 tunes the HTTP/2 connections of an h2 or h2c upstream; nil is
	// the defaults.
	H2 *UpstreamH2 `yaml:"h2"`
}

// UpstreamH2 tunes the HTTP/2 connections to an upstream's targets. Each
// connection carries up to the target's MAX_CONCURRENT_STREAMS requests;
// past that another connection is opened.
type UpstreamH2 struct {
	Meta `yaml:"-"`
	// PingInterval is how long a connection may go without a frame from
	// the target before it is sent a PING (default
	// DefaultH2PingInterval); an explicit 0 sends none.
	PingInterval Duration `yaml:"ping_interval"`
	// PingTimeout is how long the answer to a PING may take before the
	// connection is closed and its requests fail (default
	// DefaultH2PingTimeout).
	PingTimeout Duration `yaml:"ping_timeout"`
}

// Health configures active health checks of an upstream's targets.
type Health struct {
	Meta     `yaml:"-"`
	Path     string   `yaml:"path"`
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
}

// UpstreamTLS configures TLS towards https targets.
type UpstreamTLS struct {
	Meta               `yaml:"-"`
	CA                 string `yaml:"ca"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// Cert and Key are the client certificate presented to targets that
	// ask for one (mTLS); reloaded when the files change.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Service is one API whose versions Turnout routes between.
type Service struct {
	Meta      `yaml:"-"`
	Name      string              `yaml:"-"`
	Match     Match               `yaml:"match"`
	Negotiate Negotiate           `yaml:"negotiate"`
	Default   string              `yaml:"default"`
	Versions  map[string]*Version `yaml:"versions"`
	Rules     []*Rule             `yaml:"rules"`
	Rollout   *Rollout            `yaml:"rollout"`
	Fallback  bool                `yaml:"fallback"`
	Mirror    *Mirror             `yaml:"mirror"`
	// Contract checks live traffic against the versions' OpenAPI
	// documents: response validation and deprecated-usage tracking.
	Contract *Contract `yaml:"contract"`
	// Protocol is what the service's clients speak: http (the default) or
	// qn, the binary device protocol (shared/QN.md). A qn service has its
	// own Listen address instead of a match block, and its versions name
	// upstreams with tcp:// targets and say which QN version they speak.
	Protocol string `yaml:"protocol"`
	Listen   string `yaml:"listen"`
	// QN bounds the connections of a qn service; nil means the defaults.
	QN *QNOptions `yaml:"qn"`
	// Limits caps what one HTTP service may hold of the data plane; nil is
	// no cap of its own (limits.max_in_flight still applies).
	Limits *ServiceLimits `yaml:"limits"`
	// Clients says how callers are told apart in the usage counts (who
	// still calls each version); nil counts every request as "(none)".
	Clients *Clients `yaml:"clients"`

	// versionNames are the keys of Versions, sorted once by Decode:
	// validation and every compile of a reload iterate them in order.
	versionNames []string
}

// QNOptions bounds the connections of a qn service. Zero values mean the
// defaults (DefaultQN*).
type QNOptions struct {
	Meta `yaml:"-"`
	// Grace is how long connections on a version that lost its traffic (a
	// rollback, a weight change, a reload) may go on before they are closed.
	Grace Duration `yaml:"grace"`
	// FirstFrameTimeout bounds the wait for a connection's first frame.
	FirstFrameTimeout Duration `yaml:"first_frame_timeout"`
	// IdleTimeout closes a connection on which neither side sent a frame
	// for that long.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ConnectTimeout bounds the dial to an upstream target.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// MaxConnections caps the device connections open at once; more are
	// closed on arrival.
	MaxConnections int `yaml:"max_connections"`
	// MaxFrame caps a frame's payload in bytes (below the protocol's own
	// limits: 65,535 bytes in v1, 16 MiB in v2).
	MaxFrame Size `yaml:"max_frame"`
}

// Match selects the requests that belong to a service.
type Match struct {
	Meta       `yaml:"-"`
	Hosts      []string `yaml:"hosts"`
	PathPrefix string   `yaml:"path_prefix"`
}

// Negotiate says where a request may name the version it wants.
type Negotiate struct {
	Meta             `yaml:"-"`
	Sources          []string `yaml:"sources"` // header | accept | path | query | body
	Header           string   `yaml:"header"`
	Query            string   `yaml:"query"`
	AcceptVendor     string   `yaml:"accept_vendor"`
	StripPathVersion *bool    `yaml:"strip_path_version"`
	// Body is the JSON Pointer (RFC 6901) of the version in a JSON
	// request body, e.g. /api_version; it enables the body source.
	Body string `yaml:"body"`
	// MaxBody bounds how much of a body is read to find it
	// (DefaultNegotiateBody); a longer body carries no version.
	MaxBody Size `yaml:"max_body"`
}

// DefaultNegotiateBody is negotiate.max_body when not set.
const DefaultNegotiateBody = 64 << 10

// Version is one declared version of a service.
type Version struct {
	Meta         `yaml:"-"`
	Name         string `yaml:"-"`
	Upstream     string `yaml:"upstream"`
	Lifecycle    string `yaml:"lifecycle"` // active | deprecated | redirect | gone
	Sunset       *Time  `yaml:"sunset"`
	DeprecatedAt *Time  `yaml:"deprecated_at"`
	Successor    string `yaml:"successor"`
	// OpenAPI is the path of the version's OpenAPI document (relative to
	// the configuration file's directory). Validate does not read it; the
	// gateway loads it when it compiles the configuration.
	OpenAPI string `yaml:"openapi"`
	// Speaks is the QN version the upstream speaks (qn services only):
	// v1 or v2.
	Speaks string `yaml:"speaks"`
	// Translate lets a version of a qn service serve devices of the other
	// QN version, translating every frame both ways.
	Translate bool `yaml:"translate"`
	// Fault injects delays and aborts into the version's requests.
	Fault *Fault `yaml:"fault"`
	// ServedBy names the version whose upstream serves this one's
	// requests (instead of upstream), through Adapt.
	ServedBy string `yaml:"served_by"`
	// Adapt rewrites the requests and answers of a version served_by
	// another (types_adapt.go).
	Adapt *Adapt `yaml:"adapt"`
	// Schedule are the version's lifecycle steps in time order and
	// HoldWhile what holds one while clients still call
	// (types_schedule.go, applied by internal/lifecycle).
	Schedule  []*ScheduleStep `yaml:"schedule"`
	HoldWhile *HoldWhile      `yaml:"hold_while"`
}

// Rule sends matching unpinned requests to a version or an experiment.
type Rule struct {
	Meta       `yaml:"-"`
	Name       string      `yaml:"name"`
	Match      RuleMatch   `yaml:"match"`
	Version    string      `yaml:"version"`
	Experiment *Experiment `yaml:"experiment"`
	// Fault injects delays and aborts into the requests the rule sends,
	// instead of their version's fault.
	Fault *Fault `yaml:"fault"`
}

// RuleMatch is a conjunction: every condition given must hold.
type RuleMatch struct {
	Meta       `yaml:"-"`
	Header     map[string]string `yaml:"header"`
	Cookie     map[string]string `yaml:"cookie"`
	Query      map[string]string `yaml:"query"`
	Host       string            `yaml:"host"`
	Method     []string          `yaml:"method"`
	PathPrefix string            `yaml:"path_prefix"`
	Expr       string            `yaml:"expr"`
	// ClientCert matches the verified client certificate of an HTTPS
	// request (tls.client_ca); a request without one never matches.
	ClientCert *ClientCertMatch `yaml:"client_cert"`
}

// ClientCertMatch matches a verified client certificate: Subject equals
// its subject common name or its whole subject ("CN=a,O=b"), SAN equals one
// of its DNS names, URIs or e-mail addresses. Both given: both must hold.
type ClientCertMatch struct {
	Meta    `yaml:"-"`
	Subject string `yaml:"subject"`
	SAN     string `yaml:"san"`
}

// Experiment splits a rule's requests between arms by weight.
type Experiment struct {
	Meta   `yaml:"-"`
	Sticky StickyKey          `yaml:"sticky"`
	Arms   map[string]float64 `yaml:"arms"`
}

// Rollout moves unpinned traffic from one version to another.
// RequireCompatible holds it pending while the OpenAPI document of `to` has
// breaking changes (ERR) against the one of `from`.
type Rollout struct {
	Meta              `yaml:"-"`
	From              string    `yaml:"from"`
	To                string    `yaml:"to"`
	Weight            float64   `yaml:"weight"`
	Sticky            StickyKey `yaml:"sticky"`
	Steps             []float64 `yaml:"steps"`
	StepInterval      Duration  `yaml:"step_interval"`
	Analysis          Analysis  `yaml:"analysis"`
	OnFailure         string    `yaml:"on_failure"` // rollback | pause
	Notify            []string  `yaml:"notify"`
	RequireCompatible bool      `yaml:"require_compatible"`
}

// Analysis is the set of checks a rollout's `to` version must pass.
type Analysis struct {
	Meta                     `yaml:"-"`
	Window                   Duration `yaml:"window"`
	Interval                 Duration `yaml:"interval"`
	MinRequests              int      `yaml:"min_requests"`
	MaxErrorRate             *float64 `yaml:"max_error_rate"`
	MaxLatencyP95            Duration `yaml:"max_latency_p95"`
	MaxLatencyP99            Duration `yaml:"max_latency_p99"`
	MaxDiffRate              *float64 `yaml:"max_diff_rate"`
	MaxContractViolationRate *float64 `yaml:"max_contract_violation_rate"`
	// Relative compares `to` against `from` over the same window: a check
	// fails only when `to` is worse than `from` by more than Margin (an
	// absolute difference in rate, or a factor for latency).
	Relative bool     `yaml:"relative"`
	Margin   *float64 `yaml:"margin"`
	// Source is where the `to` and `from` numbers come from: turnout (its
	// own data plane, the default) or prometheus (Envoy's metrics, when
	// Envoy carries the traffic).
	Source string `yaml:"source"`
	// Prometheus overrides the top-level prometheus block, key by key, for
	// this analysis (source: prometheus only).
	Prometheus *Prometheus `yaml:"prometheus"`
	// Judge is how `to` is judged: threshold (the default: each check
	// against its maximum over the window) or statistical (`to` against
	// `from` with sequential tests since the step began; package judge).
	Judge string `yaml:"judge"`
	// Confidence is the statistical judge's confidence, in (0, 1)
	// (default 0.99): a failure needs a regression significant at 1 −
	// confidence, however often analysis looks.
	Confidence *float64 `yaml:"confidence"`
	// EqualBaseline has the statistical judge compare `to` with a slice
	// of `from` the size of `to`'s sample.
	EqualBaseline bool `yaml:"equal_baseline"`
}

// Mirror copies a share of a service's traffic to a version.
type Mirror struct {
	Meta    `yaml:"-"`
	To      string   `yaml:"to"`
	Percent float64  `yaml:"percent"`
	Methods []string `yaml:"methods"`
	MaxBody Size     `yaml:"max_body"`
	Timeout Duration `yaml:"timeout"`
	Compare *Compare `yaml:"compare"`
}

// Contract configures the checks of a service's live traffic against its
// versions' OpenAPI documents (versions.NAME.openapi).
type Contract struct {
	Meta `yaml:"-"`
	// ValidatePercent is the share of the rollout's `to` answers validated
	// against the `from` version's document, and of the answers of each
	// version served_by another against its own document when it has one
	// (a rollout's `to` that is such a version too), 0 to 100 (default 0:
	// none).
	ValidatePercent float64 `yaml:"validate_percent"`
	// MaxBody bounds the answer body copied for validation; larger answers
	// are not validated (default 1 MiB).
	MaxBody Size `yaml:"max_body"`
	// ClientKey names the client of a deprecated operation or parameter:
	// header:NAME, cookie:NAME or query:NAME. Credentials are hashed.
	ClientKey StickyKey `yaml:"client_key"`
}

// Compare configures how mirrored answers are compared with the primary's.
type Compare struct {
	Meta      `yaml:"-"`
	Ignore    []string           `yaml:"ignore"`
	Tolerance map[string]float64 `yaml:"tolerance"`
	Headers   []string           `yaml:"headers"`
	Unordered []string           `yaml:"unordered"`
	Noise     bool               `yaml:"noise"`
}

// Lifecycle values.
const (
	LifecycleActive     = "active"
	LifecycleDeprecated = "deprecated"
	LifecycleRedirect   = "redirect"
	LifecycleGone       = "gone"
)

// Negotiation sources.
const (
	SourceHeader = "header"
	SourceAccept = "accept"
	SourcePath   = "path"
	SourceQuery  = "query"
	SourceBody   = "body"
)

// Service protocols.
const (
	ServiceHTTP = "http"
	ServiceQN   = "qn"
)

// QN versions a version of a qn service speaks.
const (
	SpeaksV1 = "v1"
	SpeaksV2 = "v2"
)

// Upstream protocols.
const (
	ProtocolHTTP1 = "http1"
	ProtocolH2    = "h2"
	ProtocolH2C   = "h2c"
)

// TLS versions min_version accepts.
const (
	TLSVersion12 = "1.2"
	TLSVersion13 = "1.3"
)

// Defaults applied by Load to fields left empty.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultAdminListen   = "127.0.0.1:9901"
	DefaultEnvoyListen   = "0.0.0.0:10000"
	DefaultAuthzCluster  = "turnout_xds"
	DefaultTokenEnv      = "TURNOUT_ADMIN_TOKEN"
	DefaultHeader        = "X-API-Version"
	DefaultQuery         = "version"
	DefaultWindow        = 10 * time.Second
	DefaultInterval      = 500 * time.Millisecond
	DefaultMinRequests   = 20
	DefaultUpstreamTO    = 30 * time.Second
	DefaultEjectAfter    = 3
	DefaultEjectFor      = 10 * time.Second
	DefaultHealthTimeout = 2 * time.Second
	DefaultFallbackBody  = 64 << 10
	DefaultShutdownGrace = 30 * time.Second
	DefaultMirrorBody    = 1 << 20
	DefaultMirrorTimeout = 5 * time.Second
	DefaultContractBody  = 1 << 20

	DefaultQNGrace             = 30 * time.Second
	DefaultQNFirstFrameTimeout = 10 * time.Second
	DefaultQNIdleTimeout       = 5 * time.Minute
	DefaultQNConnectTimeout    = 5 * time.Second
	DefaultQNMaxConnections    = 10000
	DefaultQNMaxFrame          = 1 << 20
)

// DefaultH2PingInterval and DefaultH2PingTimeout: an HTTP/2 upstream
// connection silent for 15 s is sent a PING and closed when the answer
// takes more than 10 s.
const (
	DefaultH2PingInterval = 15 * time.Second
	DefaultH2PingTimeout  = 10 * time.Second
)

// IsQN reports whether the service speaks QN (protocol: qn).
func (s *Service) IsQN() bool { return s != nil && s.Protocol == ServiceQN }

// IsTCP reports whether the upstream's targets are tcp:// addresses (the
// upstreams of qn services) rather than http(s) URLs.
func (u *Upstream) IsTCP() bool {
	return u != nil && len(u.Targets) > 0 && strings.HasPrefix(strings.ToLower(u.Targets[0]), "tcp://")
}

// Pings returns the PING interval and timeout of an HTTP/2 upstream's
// connections, defaults filled in; h may be nil (the defaults). An
// interval of 0 (written as such) sends no PING. Both the data plane's
// pools and the xDS export (Envoy's connection_keepalive) read it.
func (h *UpstreamH2) Pings() (interval, timeout time.Duration) {
	interval, timeout = DefaultH2PingInterval, DefaultH2PingTimeout
	if h == nil {
		return interval, timeout
	}
	if h.PingInterval > 0 || h.Has("ping_interval") {
		interval = h.PingInterval.D()
	}
	if h.PingTimeout > 0 {
		timeout = h.PingTimeout.D()
	}
	return interval, timeout
}
