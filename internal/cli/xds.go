package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/xds"
)

// xdsCmd groups the xDS tools.
func xdsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "xds", Short: "Envoy xDS tools"}
	cmd.AddCommand(xdsDumpCmd())
	return cmd
}

func xdsDumpCmd() *cobra.Command {
	var file, node string
	cmd := &cobra.Command{
		Use:   "dump -c FILE [--node envoy|grpc]",
		Short: "Print the xDS resources (listeners, routes, clusters, endpoints) a node kind would get, as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind, ok := xds.ParseKind(node)
			if !ok {
				return &exitError{code: 2, err: fmt.Errorf("--node %q: use envoy or grpc", node)}
			}
			cfg, err := loadChecked(file, cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 1}
			}
			table, err := route.Compile(cfg)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			listen := ""
			if cfg.XDS != nil {
				listen = cfg.XDS.EnvoyListen
			}
			res, _ := xds.Translate(table, xds.Options{Kind: kind, EnvoyListen: listen})
			if err := res.Validate(); err != nil {
				return &exitError{code: 1, err: err}
			}
			js, err := res.JSON()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			_, err = cmd.OutOrStdout().Write(js)
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	cmd.Flags().StringVar(&node, "node", "envoy", "node kind: envoy or grpc")
	return cmd
}
