package examples

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
)

// TestExamplesAreValid is `turnout validate -c FILE` for every example.
// mtls.yaml is validated as a copy next to the files mtls/make-certs.sh
// makes, so the script is run too.
func TestExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	walk, err := filepath.Glob("retire-v1/*.yaml")
	if err != nil || len(walk) != 4 {
		t.Fatalf("retire-v1: %v %v, want its four steps", walk, err)
	}
	files = append(files, "envoy/turnout.yaml")
	files = append(files, walk...)
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if f == "mtls.yaml" {
				f = withCerts(t, f)
			}
			cfg, err := config.Load(f)
			if err == nil {
				err = core.Validate(cfg)
			}
			if err != nil {
				for _, e := range config.Flatten(err) {
					t.Error(e)
				}
			}
		})
	}
}

// withCerts copies the example into a temp directory, runs
// mtls/make-certs.sh to make the files it names there, and returns the
// copy's path.
func withCerts(t *testing.T, f string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("bash", "mtls/make-certs.sh", filepath.Join(dir, "mtls")).CombinedOutput()
	if err != nil {
		t.Fatalf("mtls/make-certs.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, f)
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestEnvoyBootstrapPointsAtTurnout: the Envoy bootstrap's ADS cluster is
// the xds.listen address of the Turnout configuration next to it.
func TestEnvoyBootstrapPointsAtTurnout(t *testing.T) {
	cfg, err := config.Load("envoy/turnout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var boot struct {
		DynamicResources struct {
			AdsConfig struct {
				GrpcServices []struct {
					EnvoyGrpc struct {
						ClusterName string `yaml:"cluster_name"`
					} `yaml:"envoy_grpc"`
				} `yaml:"grpc_services"`
			} `yaml:"ads_config"`
		} `yaml:"dynamic_resources"`
		StaticResources struct {
			Clusters []struct {
				Name           string
				LoadAssignment struct {
					Endpoints []struct {
						LbEndpoints []struct {
							Endpoint struct {
								Address struct {
									SocketAddress struct {
										Address   string
										PortValue int `yaml:"port_value"`
									} `yaml:"socket_address"`
								}
							}
						} `yaml:"lb_endpoints"`
					}
				} `yaml:"load_assignment"`
			}
		} `yaml:"static_resources"`
	}
	if err := yaml.Unmarshal(data, &boot); err != nil {
		t.Fatal(err)
	}
	ads := boot.DynamicResources.AdsConfig.GrpcServices[0].EnvoyGrpc.ClusterName
	for _, c := range boot.StaticResources.Clusters {
		if c.Name != ads {
			continue
		}
		sa := c.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress
		if got := net.JoinHostPort(sa.Address, strconv.Itoa(sa.PortValue)); got != cfg.XDS.Listen {
			t.Fatalf("envoy.yaml reaches Turnout at %s; turnout.yaml listens on %s", got, cfg.XDS.Listen)
		}
		return
	}
	t.Fatalf("envoy.yaml has no cluster %q for ADS", ads)
}
