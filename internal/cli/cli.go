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
	root.AddCommand(lifecycleCmd())
	root.AddCommand(usageCmd())   // who still calls each version (usage.go)
	root.AddCommand(adaptCmd())   // adapters of versions served_by another (adapt.go)
	root.AddCommand(xdsCmd())     // Envoy xDS tools (xds.go)
	root.AddCommand(clusterCmd()) // the fleet (cluster.go)
	refuseUnknownSubcommands(root)
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

// refuseUnknownSubcommands makes every group of commands below root (turnout
// qn, xds, cluster, ...) refuse a subcommand it does not have with exit 2:
// cobra would print the group's help and exit 0. A group run alone still
// prints its help.
func refuseUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		if !c.HasSubCommands() || c.Runnable() {
			continue
		}
		refuseUnknownSubcommands(c)
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageError("unknown command %q for %q; the commands are listed by %q", args[0], cmd.CommandPath(), cmd.CommandPath()+" --help")
		}
	}
}
