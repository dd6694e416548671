package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// clusterYAML is a whole configuration around a cluster block.
func clusterYAML(block string) string {
	return "admin: { listen: 0.0.0.0:9901 }\ncluster:\n" + block + "services: {}\n"
}

// TestClusterDefaults: only endpoints written; the prefix, lease, member
// (the host name) and advertised URL (admin.listen with the host name for
// its wildcard address) are filled in.
func TestClusterDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte(clusterYAML("  etcd: { endpoints: [http://127.0.0.1:2379] }\n")))
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Cluster
	if cl.Etcd.Prefix != DefaultEtcdPrefix || cl.Lease.D() != DefaultClusterLease || cl.Member != host ||
		cl.Advertise != "http://"+host+":9901" {
		t.Fatalf("defaults: prefix %q lease %v member %q advertise %q", cl.Etcd.Prefix, cl.Lease, cl.Member, cl.Advertise)
	}
}

// TestClusterAsWritten: every key of SPEC's block decodes as written.
func TestClusterAsWritten(t *testing.T) {
	c, err := Parse("c.yaml", []byte(clusterYAML(`  etcd:
    endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]
    prefix: /turnout/prod
    tls: { ca: ca.pem, cert: c.pem, key: k.pem }
    username: turnout
    password_env: ETCD_PASSWORD
  member: gw-1
  advertise: http://10.0.0.5:9901
  lease: 3s
`)))
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Cluster
	if len(cl.Etcd.Endpoints) != 2 || cl.Etcd.Prefix != "/turnout/prod" || cl.Etcd.TLS.Key != "k.pem" ||
		cl.Etcd.Username != "turnout" || cl.Etcd.PasswordEnv != "ETCD_PASSWORD" || cl.Member != "gw-1" ||
		cl.Advertise != "http://10.0.0.5:9901" || cl.Lease.D() != 3*time.Second {
		t.Fatalf("decoded %+v etcd %+v", cl, cl.Etcd)
	}
}

// TestClusterAdvertiseOfPortZero: an admin port chosen at bind time gives
// no default advertise URL here (the gateway fills it in).
func TestClusterAdvertiseOfPortZero(t *testing.T) {
	text := strings.Replace(clusterYAML("  etcd: { endpoints: [http://127.0.0.1:2379] }\n"), "0.0.0.0:9901", "127.0.0.1:0", 1)
	c, err := Parse("c.yaml", []byte(text))
	if err != nil || c.Cluster.Advertise != "" {
		t.Fatalf("Parse: %v, advertise %q", err, c.Cluster.Advertise)
	}
}

// TestNoClusterNoBlock: without the block there is no cluster.
func TestNoClusterNoBlock(t *testing.T) {
	c, err := Parse("c.yaml", []byte("services: {}\n"))
	if err != nil || c.Cluster != nil {
		t.Fatalf("Parse: %v, cluster %+v", err, c.Cluster)
	}
}

// TestClusterErrors: every problem names FILE:LINE:COL and its key path.
func TestClusterErrors(t *testing.T) {
	tests := []struct{ name, block, want string }{
		{"no endpoints", "  etcd: { prefix: /t }\n", "c.yaml:3:3: cluster.etcd.endpoints: at least one etcd client URL"},
		{"bad endpoint", "  etcd: { endpoints: [127.0.0.1:2379] }\n", "c.yaml:3:22: cluster.etcd.endpoints: endpoints[0]:"},
		{"endpoint path", "  etcd: { endpoints: [http://h:2379/x] }\n", "must not have a path"},
		{"relative prefix", "  etcd: { endpoints: [http://h:2379], prefix: turnout }\n", "c.yaml:3:47: cluster.etcd.prefix: \"turnout\": want a key prefix starting with '/'"},
		{"prefix slash", "  etcd: { endpoints: [http://h:2379], prefix: /t/ }\n", "must not end with '/'"},
		{"tls over http", "  etcd: { endpoints: [http://h:2379], tls: { ca: ca.pem } }\n", "cluster.etcd.tls: tls is set but no endpoint is https://"},
		{"cert without key", "  etcd: { endpoints: [https://h:2379], tls: { cert: c.pem } }\n", "cluster.etcd.tls.key: cert and key go together"},
		{"user without password", "  etcd: { endpoints: [http://h:2379], username: u }\n", "cluster.etcd.password_env: username and password_env go together"},
		{"bad env name", "  etcd: { endpoints: [http://h:2379], username: u, password_env: 1X }\n", "is not an environment variable name"},
		{"member slash", "  etcd: { endpoints: [http://h:2379] }\n  member: a/b\n", "c.yaml:4:11: cluster.member: \"a/b\" must not contain '/'"},
		{"member empty", "  etcd: { endpoints: [http://h:2379] }\n  member: \"\"\n", "cluster.member: required"},
		{"advertise empty", "  etcd: { endpoints: [http://h:2379] }\n  advertise: \"\"\n", "cluster.advertise: must not be empty"},
		{"advertise not a URL", "  etcd: { endpoints: [http://h:2379] }\n  advertise: 10.0.0.5:9901\n", "c.yaml:4:14: cluster.advertise:"},
		{"short lease", "  etcd: { endpoints: [http://h:2379] }\n  lease: 500ms\n", "c.yaml:4:10: cluster.lease: 500ms is too short; at least 1s"},
		{"fractional lease", "  etcd: { endpoints: [http://h:2379] }\n  lease: 1500ms\n", "cluster.lease: 1.5s: use whole seconds"},
		{"unknown key", "  etcd: { endpoints: [http://h:2379] }\n  members: 3\n", "c.yaml:4:3:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(clusterYAML(tt.block)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v\nwant an error containing %q", err, tt.want)
			}
		})
	}
}
