package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/cluster"
)

// clusterCmd is `turnout cluster`, the fleet's commands.
func clusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "A fleet of Turnouts sharing rollouts through etcd (cluster:)",
	}
	cmd.AddCommand(clusterStatusCmd())
	return cmd
}

func clusterStatusCmd() *cobra.Command {
	var f *adminFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the fleet as the member at --admin sees it: members, leader, lease and sync",
		Long: "Prints the leader and every live member: its advertised admin URL, when its lease was\n" +
			"last renewed, the requests it served over the last minute (read from each member when\n" +
			"asked), its rollout spec hash (marked when it differs from the leader's) and its build,\n" +
			"then when the member asked last read the fleet's state. -o json prints the API's JSON." + adminLong,
		Args: argsBetween(0, 0, "turnout cluster status"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return failIf(clusterStatus(cmd.Context(), c, f.output, cmd.OutOrStdout()))
		},
	}
	f = addAdminFlags(cmd)
	return cmd
}

func clusterStatus(ctx context.Context, c *adminClient, output string, out io.Writer) error {
	var v cluster.View
	body, err := c.get(ctx, "/api/v1/cluster", &v)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, body)
	}
	return writeClusterView(out, v, now())
}

// writeClusterView prints v as a table, the leader's spec hash the
// reference.
func writeClusterView(w io.Writer, v cluster.View, at time.Time) error {
	leaderHash := ""
	for _, m := range v.Members {
		if m.Leader {
			leaderHash = m.SpecHash
		}
	}
	leader := v.Leader
	if leader == "" {
		leader = "none"
	}
	fmt.Fprintf(w, "leader: %s   asked: %s   last sync: %s", leader, v.Self, age(at, v.LastSync))
	if v.TrafficWindow != "" {
		fmt.Fprintf(w, "   requests over the last %s", v.TrafficWindow)
	}
	fmt.Fprintln(w)
	if v.SyncError != "" {
		fmt.Fprintf(w, "not in sync: %s\n", oneLine(v.SyncError))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tLEADER\tADVERTISE\tLAST SEEN\tREQUESTS\tSPEC HASH\tBINARY")
	for _, m := range v.Members {
		lead, hash := "", m.SpecHash
		if m.Leader {
			lead = "*"
		}
		if leaderHash != "" && hash != leaderHash {
			hash += " (differs)"
		}
		bin := m.Binary
		if bin == "" {
			bin = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, lead, m.Advertise, age(at, m.LastSeen), requests(m), hash, oneLine(bin))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range v.Members {
		if m.TrafficError != "" {
			fmt.Fprintf(w, "%s: traffic not read: %s\n", m.Name, oneLine(m.TrafficError))
		}
	}
	return nil
}

// requests is a member's traffic as the table shows it: its count, "?"
// when it did not answer (the error follows the table), "-" when not read.
func requests(m cluster.MemberView) string {
	switch {
	case m.Requests != nil:
		return strconv.FormatInt(*m.Requests, 10)
	case m.TrafficError != "":
		return "?"
	}
	return "-"
}
