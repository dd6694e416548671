package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// exitError carries an exit code out of a command without printing twice.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "turnout",
		Short:         "Move API traffic from one version of a service to the next without clients noticing",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(append([]*cobra.Command{serveCmd(), validateCmd(), versionCmd(), demoCmd()}, adminCmds()...)...)
	root.AddCommand(qnCmd()) // QN device protocol tools (qn.go)
	root.AddCommand(contractCmd())
	root.AddCommand(usageCmd())   // who still calls each version (usage.go)
	root.AddCommand(adaptCmd())   // adapters of versions served_by another (adapt.go)
	root.AddCommand(xdsCmd())     // Envoy xDS tools (xds.go)
	root.AddCommand(clusterCmd()) // the fleet (cluster.go)
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(stderr, "turnout:", ee.err)
			}
			return ee.code
		}
		fmt.Fprintln(stderr, "turnout:", err)
		return 1
	}
	return 0
}
