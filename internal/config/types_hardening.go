package config

import "time"

// Trust says which requests may colour their own routing: set the headers,
// cookies and query parameters that rules, experiments, sticky keys and
// version pins read. A request is trusted when its client address is in
// Networks (the address X-Forwarded-For names when the peer is one of
// Proxies) or when it carries a valid Signature. From other requests the
// colour values are removed before routing and before forwarding. Without a
// trust block every request is trusted.
type Trust struct {
	Meta `yaml:"-"`
	// Networks are the client networks trusted to colour requests: CIDRs
	// (10.0.0.0/8) or single addresses.
	Networks []string `yaml:"networks"`
	// Proxies are the peers whose X-Forwarded-For is believed: the client
	// address is the right-most X-Forwarded-For entry that is not a proxy.
	Proxies []string `yaml:"proxies"`
	// Signature lets a trusted edge vouch for a request's colour with an
	// HMAC; nil means no signed colour.
	Signature *Signature `yaml:"signature"`
	// Pins is what untrusted clients may do with version pins: allow (the
	// default) or refuse (the request is routed as if it pinned nothing).
	Pins string `yaml:"pins"`
	// ServicePins overrides Pins per service name.
	ServicePins map[string]string `yaml:"service_pins"`
	// Strip names more colour values to remove from untrusted requests
	// (header:NAME, cookie:NAME or query:NAME), beyond those the routing
	// reads.
	Strip []StickyKey `yaml:"strip"`
}

// Signature configures signed colour: header carries
// "t=<unix seconds>,h=<hex HMAC-SHA256>" over the request's colour values
// (see internal/trust), keyed by the secret in the environment variable
// KeyEnv, valid for MaxAge around its time.
type Signature struct {
	Meta   `yaml:"-"`
	Header string   `yaml:"header"`
	KeyEnv string   `yaml:"key_env"`
	MaxAge Duration `yaml:"max_age"`
}

// Pin policies of Trust.Pins.
const (
	PinsAllow  = "allow"
	PinsRefuse = "refuse"
)

// RefusesPins reports whether untrusted requests to service may not pin a
// version. A nil Trust refuses nothing.
func (t *Trust) RefusesPins(service string) bool {
	if t == nil {
		return false
	}
	if p, ok := t.ServicePins[service]; ok {
		return p == PinsRefuse
	}
	return t.Pins == PinsRefuse
}

// Fault injects failures into the requests a version (or a rule) receives,
// before they are sent upstream: a share is delayed, a share answered with
// a status without reaching the upstream.
type Fault struct {
	Meta  `yaml:"-"`
	Delay *FaultDelay `yaml:"delay"`
	Abort *FaultAbort `yaml:"abort"`
}

// FaultDelay holds Percent percent of requests for Duration.
type FaultDelay struct {
	Meta     `yaml:"-"`
	Percent  float64  `yaml:"percent"`
	Duration Duration `yaml:"duration"`
}

// FaultAbort answers Percent percent of requests with Status.
type FaultAbort struct {
	Meta    `yaml:"-"`
	Percent float64 `yaml:"percent"`
	Status  int     `yaml:"status"`
}

// ServiceLimits caps one service's share of the data plane, so that one
// slow service cannot take every slot of the global limits.max_in_flight.
type ServiceLimits struct {
	Meta `yaml:"-"`
	// MaxInFlight caps the service's requests served at once; more are
	// answered 503 with Retry-After. 0 is no cap of its own.
	MaxInFlight int `yaml:"max_in_flight"`
}

// InFlightCap is the service's services.NAME.limits.max_in_flight, 0 when
// it has none.
func (s *Service) InFlightCap() int {
	if s.Limits == nil {
		return 0
	}
	return s.Limits.MaxInFlight
}

// Hardening defaults.
const (
	DefaultSignatureHeader = "X-Turnout-Colour-Sig"
	DefaultSignatureMaxAge = 5 * time.Minute
	DefaultMaxInFlight     = 10000
	DefaultMaxConnections  = 1024
	DefaultReadHeader      = 10 * time.Second
	DefaultIdleTimeout     = 120 * time.Second
	DefaultMaxHeaderBytes  = 1 << 20
	// DefaultRequestBodyTimeout bounds receiving a request body: 1 MiB/s
	// for a minute is 60 MiB.
	DefaultRequestBodyTimeout = 60 * time.Second
	// DefaultWriteTimeout bounds each write to a client (nginx's
	// send_timeout is 60 s).
	DefaultWriteTimeout = 60 * time.Second
	// MaxFaultDelay bounds a fault's delay.
	MaxFaultDelay = 10 * time.Minute
)

// DefaultMaxResponseHeaderBytes is limits.max_response_header_bytes when
// it is not set.
const DefaultMaxResponseHeaderBytes = 1 << 20
