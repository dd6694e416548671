package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/rollout"
)

// statusEvents is how many recent events `turnout status SERVICE` shows.
const statusEvents = 10

// adminCmds are the commands that drive a running Turnout through its
// admin API.
func adminCmds() []*cobra.Command {
	return []*cobra.Command{
		statusCmd(),
		actionCmd("promote", "Send all unpinned traffic to the rollout's new version and end the rollout"),
		actionCmd("pause", "Freeze the rollout at its current weight"),
		actionCmd("resume", "Resume a paused, rolled back or pending rollout"),
		actionCmd("abort", "Send all unpinned traffic back to the old version and keep it there"),
		weightCmd(),
		explainCmd(),
	}
}

// adminLong is the shared part of the admin commands' help.
const adminLong = "\n\nTalks to the admin API of a running `turnout serve` (--admin, or $" + EnvAdminURL +
	", default " + DefaultAdminURL + "). Mutations send $" + EnvAdminToken + " as a bearer token."

func statusCmd() *cobra.Command {
	var f *adminFlags
	cmd := &cobra.Command{
		Use:   "status [SERVICE]",
		Short: "Show rollout state: a table of every rollout, or one rollout in detail",
		Long: "Without SERVICE, prints every rollout as a table. With SERVICE, prints that rollout in\n" +
			"detail: state, weight and step, the last analysis with each check against its threshold,\n" +
			"and the service's last " + strconv.Itoa(statusEvents) + " events. -o json prints the API's JSON." + adminLong,
		Args: argsBetween(0, 1, "turnout status [SERVICE]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(args) == 0 {
				return failIf(statusAll(ctx, c, f.output, out))
			}
			return failIf(statusOne(ctx, c, args[0], f.output, out))
		},
	}
	f = addAdminFlags(cmd)
	return cmd
}

func statusAll(ctx context.Context, c *adminClient, output string, out io.Writer) error {
	var list struct {
		Rollouts []rollout.Status `json:"rollouts"`
	}
	body, err := c.get(ctx, "/api/v1/rollouts", &list)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, body)
	}
	return writeStatusTable(out, list.Rollouts, now())
}

func statusOne(ctx context.Context, c *adminClient, service, output string, out io.Writer) error {
	var st rollout.Status
	body, err := c.get(ctx, rolloutPath(service, ""), &st)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, body)
	}
	var evs admin.EventList
	_, evErr := c.get(ctx, "/api/v1/events?"+url.Values{"service": {service}, "limit": {strconv.Itoa(statusEvents)}}.Encode(), &evs)
	return writeStatusDetail(out, st, evs.Events, evErr, now())
}

// actionCmd is promote, pause, resume or abort.
func actionCmd(action, short string) *cobra.Command {
	var f *adminFlags
	cmd := &cobra.Command{
		Use:   action + " SERVICE",
		Short: short,
		Long:  short + "." + adminLong,
		Args:  argsBetween(1, 1, "turnout "+action+" SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return failIf(mutate(cmd.Context(), c, http.MethodPost, rolloutPath(args[0], action), nil, f.output, cmd.OutOrStdout()))
		},
	}
	f = addAdminFlags(cmd)
	return cmd
}

func weightCmd() *cobra.Command {
	var f *adminFlags
	cmd := &cobra.Command{
		Use:   "weight SERVICE PERCENT",
		Short: "Set the share of unpinned traffic that goes to the rollout's new version",
		Long: "Sets the weight by hand: PERCENT is 0 to 100, decimals allowed, with or without a %\n" +
			"sign (25, 25%, 0.5). A paused rollout stays paused; any other continues from there,\n" +
			"still guarded by analysis; 100 promotes." + adminLong,
		Args: argsBetween(2, 2, "turnout weight SERVICE PERCENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := parsePercent(args[1])
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return failIf(mutate(cmd.Context(), c, http.MethodPut, rolloutPath(args[0], "weight"),
				admin.WeightRequest{Weight: &w}, f.output, cmd.OutOrStdout()))
		},
	}
	// A negative PERCENT reaches pflag as a shorthand flag (-5): say what
	// is wrong with the number instead.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		var ne *pflag.NotExistError
		if errors.As(err, &ne) && ne.GetSpecifiedShortnames() != "" {
			if _, perr := strconv.ParseFloat("-"+ne.GetSpecifiedShortnames(), 64); perr == nil {
				_, perr = parsePercent("-" + ne.GetSpecifiedShortnames())
				return perr
			}
		}
		return usageError("%v", err)
	})
	f = addAdminFlags(cmd)
	return cmd
}

// mutate runs one rollout action and prints the new state.
func mutate(ctx context.Context, c *adminClient, method, path string, body any, output string, out io.Writer) error {
	var st rollout.Status
	raw, err := c.send(ctx, method, path, body, &st)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, raw)
	}
	_, err = fmt.Fprintf(out, "%s: %s at weight %s (%s → %s)\n", st.Service, st.State,
		strconv.FormatFloat(st.Weight, 'f', -1, 64), st.From, st.To)
	return err
}

// rolloutPath is /api/v1/rollouts/SERVICE[/action].
func rolloutPath(service, action string) string {
	p := "/api/v1/rollouts/" + url.PathEscape(service)
	if action != "" {
		p += "/" + action
	}
	return p
}

// percentRE is a plain decimal with an optional % sign.
var percentRE = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)%?$`)

// parsePercent reads a weight argument: 25, 25% or 0.5, from 0 to 100.
func parsePercent(s string) (float64, error) {
	bad := usageError("invalid PERCENT %q: want a number from 0 to 100 such as 25, 25%% or 0.5", s)
	if !percentRE.MatchString(s) {
		return 0, bad
	}
	w, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || w < 0 || w > 100 {
		return 0, bad
	}
	return w, nil
}

// argsBetween checks the argument count, naming the usage when it is off.
func argsBetween(lo, hi int, usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError("usage: %s", usage)
		}
		return nil
	}
}

// failIf wraps a command failure for exit code 1.
func failIf(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*exitError); ok {
		return err
	}
	return failure(err)
}
