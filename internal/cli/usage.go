package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/usage"
)

// usageOps is how many operations a row of `turnout usage` names.
const usageOps = 3

// usageCmd is `turnout usage SERVICE [--version V]`: who still calls each
// version.
func usageCmd() *cobra.Command {
	var f *adminFlags
	var version string
	cmd := &cobra.Command{
		Use:   "usage SERVICE",
		Short: "Show who still calls each version of a service: clients, requests, share, first and last seen",
		Long: "Prints one row per client of each version (or of --version only), most requests first:\n" +
			"its requests, its share of the version's requests, when it was first and last seen and the\n" +
			"operations it used. Clients are read as services.NAME.clients.key says; credentials appear\n" +
			"as sha256:HASH, (none) is requests without the key, (other) the clients beyond max_clients.\n" +
			"-o json prints the API's JSON." + adminLong,
		Args: argsBetween(1, 1, "turnout usage SERVICE [--version V]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return failIf(showUsage(cmd.Context(), c, args[0], version, f.output, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "only this version")
	f = addAdminFlags(cmd)
	return cmd
}

func showUsage(ctx context.Context, c *adminClient, service, version, output string, out io.Writer) error {
	path := "/api/v1/usage/" + url.PathEscape(service)
	var versions []usage.Version
	var body []byte
	var err error
	if version != "" {
		var v usage.Version
		body, err = c.get(ctx, path+"?"+url.Values{"version": {version}}.Encode(), &v)
		versions = []usage.Version{v}
	} else {
		var sv usage.ServiceView
		body, err = c.get(ctx, path, &sv)
		versions = sv.Versions
	}
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, body)
	}
	return writeUsageTable(out, versions, now())
}

// writeUsageTable prints one line per client of each version; a version
// nobody called has a line of its own.
func writeUsageTable(w io.Writer, versions []usage.Version, at time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCLIENT\tREQUESTS\tSHARE\tFIRST SEEN\tLAST SEEN\tOPERATIONS")
	for _, v := range versions {
		if len(v.Clients) == 0 {
			fmt.Fprintf(tw, "%s\t-\t0\t-\t-\t-\t-\n", v.Version)
			continue
		}
		for _, c := range v.Clients {
			share := "-"
			if v.Requests > 0 {
				share = fmt.Sprintf("%.1f%%", 100*float64(c.Requests)/float64(v.Requests))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", v.Version, c.Client, c.Requests, share,
				age(at, c.FirstSeen), age(at, c.LastSeen), operations(c))
		}
	}
	return tw.Flush()
}

// operations names a client's first operations with their requests, how
// many more it used and the requests of operations beyond the bound.
func operations(c usage.Client) string {
	var parts []string
	for _, op := range c.Operations[:min(len(c.Operations), usageOps)] {
		parts = append(parts, fmt.Sprintf("%s (%d)", op.Operation, op.Requests))
	}
	if more := len(c.Operations) - usageOps; more > 0 {
		parts = append(parts, fmt.Sprintf("+%d more", more))
	}
	if c.OtherOperations > 0 {
		parts = append(parts, fmt.Sprintf("other (%d)", c.OtherOperations))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
