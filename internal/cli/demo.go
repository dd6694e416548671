package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Self-contained demo: sample v1/v2 upstreams, the gateway, the dashboard and light load",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("demo: not built yet")
		},
	}
}
