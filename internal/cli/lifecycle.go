package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/lifecycle"
)

// lifecycleCmd is `turnout lifecycle SERVICE [VERSION] [--force]`: the
// retirement schedules of a service's versions, and a person's force.
func lifecycleCmd() *cobra.Command {
	var f *adminFlags
	var force bool
	cmd := &cobra.Command{
		Use:   "lifecycle SERVICE [VERSION] [--force]",
		Short: "Show the retirement schedule of a service's versions, or force a held step",
		Long: "Prints each scheduled version's effective lifecycle, its next step and date, and why the\n" +
			"step is held (hold_while: clients still call the version). With VERSION and --force, applies\n" +
			"the held (or due) step now, over its guard; the event log records who forced it. A step\n" +
			"whose date has not come cannot be forced." + adminLong,
		Args: argsBetween(1, 2, "turnout lifecycle SERVICE [VERSION] [--force]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if force && len(args) != 2 {
				return usageError("usage: turnout lifecycle SERVICE VERSION --force (name the version to force)")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if force {
				return failIf(forceStep(ctx, c, args[0], args[1], f.output, out))
			}
			version := ""
			if len(args) == 2 {
				version = args[1]
			}
			return failIf(showLifecycle(ctx, c, args[0], version, f.output, out))
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "apply the version's held or due step now, over its guard")
	f = addAdminFlags(cmd)
	return cmd
}

func lifecyclePath(service string) string { return "/api/v1/lifecycle/" + url.PathEscape(service) }

func forceStep(ctx context.Context, c *adminClient, service, version, output string, out io.Writer) error {
	var st lifecycle.Status
	raw, err := c.send(ctx, http.MethodPost, lifecyclePath(service)+"/"+url.PathEscape(version)+"/force", nil, &st)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, raw)
	}
	by := ""
	if st.Applied != nil {
		by = " by " + st.Applied.Actor
	}
	_, err = fmt.Fprintf(out, "%s %s: now %s (forced%s)\n", st.Service, st.Version, st.Lifecycle, by)
	return err
}

func showLifecycle(ctx context.Context, c *adminClient, service, version, output string, out io.Writer) error {
	var list admin.LifecycleList
	raw, err := c.get(ctx, lifecyclePath(service), &list)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, raw)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tLIFECYCLE\tNEXT\tDUE\tSTATUS")
	n := 0
	for _, v := range list.Versions {
		if version != "" && v.Version != version {
			continue
		}
		n++
		next, due, status := "-", "-", "-"
		if v.Next != nil {
			next, due = v.Next.Lifecycle, v.Next.At.UTC().Format(time.RFC3339)
			status = "waiting for its date"
			if v.Due {
				status = "due"
			}
		}
		if v.Held {
			status = v.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Version, v.Lifecycle, next, due, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: no scheduled version%s", service, map[bool]string{true: " named " + version, false: ""}[version != ""])
	}
	return nil
}
