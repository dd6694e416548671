package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/rollout"
)

// explainDefault is how many evaluations `turnout explain` shows unless
// --limit says otherwise.
const explainDefault = 10

func explainCmd() *cobra.Command {
	var f *adminFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "explain SERVICE",
		Short: "Say in words what the rollout's last analyses measured and decided",
		Long: "Prints the rollout's last analysis evaluations, oldest first, one a line: the decision\n" +
			"taken (stepped, held, waiting, rolled back, paused, promoted), the values measured against\n" +
			"their thresholds (or the statistical judge's p-value, effect and sample sizes), the window\n" +
			"and the requests behind them. Repeated waits are one line with their count. In a fleet\n" +
			"only the leader analyses: ask the leader's admin API. -o json prints the API's JSON." + adminLong,
		Args: argsBetween(1, 1, "turnout explain SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > rollout.HistoryLen {
				return usageError("--limit %d: want 1 to %d", limit, rollout.HistoryLen)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return failIf(explain(cmd.Context(), c, args[0], limit, f.output, cmd.OutOrStdout()))
		},
	}
	f = addAdminFlags(cmd)
	cmd.Flags().IntVar(&limit, "limit", explainDefault, "how many evaluations to show (1 to "+strconv.Itoa(rollout.HistoryLen)+")")
	return cmd
}

func explain(ctx context.Context, c *adminClient, service string, limit int, output string, out io.Writer) error {
	var list admin.AnalysisList
	body, err := c.get(ctx, rolloutPath(service, "analysis")+"?limit="+strconv.Itoa(limit), &list)
	if err != nil {
		return err
	}
	if output == outputJSON {
		return printJSON(out, body)
	}
	return writeExplain(out, list)
}

// writeExplain prints list's evaluations oldest first, one a line.
func writeExplain(w io.Writer, list admin.AnalysisList) error {
	if !list.Leader {
		if _, err := fmt.Fprintln(w, "this Turnout does not analyse now (in a fleet only the leader does): ask the leader for the decisions"); err != nil {
			return err
		}
	}
	if len(list.Evaluations) == 0 {
		_, err := fmt.Fprintf(w, "%s: no analysis yet on this Turnout\n", list.Service)
		return err
	}
	for _, ev := range slices.Backward(list.Evaluations) {
		if _, err := fmt.Fprintln(w, explainLine(ev)); err != nil {
			return err
		}
	}
	return nil
}

// explainLine is one evaluation in words: when, the decision, why, and
// what it rests on.
func explainLine(ev rollout.Evaluation) string {
	var b strings.Builder
	b.WriteString(ev.At.Local().Format("15:04:05") + " ")
	switch ev.Decision {
	case rollout.DecisionRollback:
		fmt.Fprintf(&b, "rolled back from %s", pct(ev.Weight))
	case rollout.DecisionPause:
		fmt.Fprintf(&b, "paused at %s", pct(ev.Weight))
	case rollout.DecisionStep:
		fmt.Fprintf(&b, "stepped %s → %s", pct(ev.Weight), pct(ev.NewWeight))
	case rollout.DecisionPromote:
		fmt.Fprintf(&b, "promoted %s → 100%%", pct(ev.Weight))
	case rollout.DecisionHold:
		fmt.Fprintf(&b, "held at %s (healthy, the step has not lasted its interval)", pct(ev.Weight))
	case rollout.DecisionWait:
		fmt.Fprintf(&b, "waiting at %s", pct(ev.Weight))
	default:
		fmt.Fprintf(&b, "%s at %s, not acted on", ev.Result, pct(ev.Weight))
	}
	b.WriteString(": " + explainWhy(ev))
	fmt.Fprintf(&b, " (window %v, %d requests to the new version, %d failed, min %d; %d to the old)",
		ev.Window, ev.To.Requests, ev.To.Errors, ev.MinRequests, ev.From.Requests)
	if ev.Count > 1 {
		fmt.Fprintf(&b, " ×%d until %s", ev.Count, ev.Last.Local().Format("15:04:05"))
	}
	return b.String()
}

// explainWhy is the checks behind a verdict: the failed ones of a
// failure, all of a pass, the reason of a wait.
func explainWhy(ev rollout.Evaluation) string {
	var parts []string
	for _, c := range ev.Checks {
		if ev.Result == rollout.ResultFail && c.OK {
			continue
		}
		parts = append(parts, checkWords(c))
	}
	if ev.Result == rollout.ResultWaiting || len(parts) == 0 {
		return oneLine(ev.Reason)
	}
	return strings.Join(parts, "; ")
}

// checkWords is one check with its value against its threshold, or the
// statistical judge's test with its p-value, effect and sample sizes.
func checkWords(c rollout.Check) string {
	j := c.Judgement
	if j == nil {
		op := "≤"
		if !c.OK {
			op = ">"
		}
		s := fmt.Sprintf("%s %s %s %s", c.Name, checkValue(c, c.Value), op, checkValue(c, c.Threshold))
		if c.Baseline != nil {
			s += " (old version: " + checkValue(c, *c.Baseline) + ")"
		}
		return s
	}
	vs := "max " + checkValue(c, c.Threshold)
	if c.Baseline != nil {
		vs = "old version " + checkValue(c, *c.Baseline)
	}
	return fmt.Sprintf("%s %s vs %s: %s, p_value %.2g at %.4g confidence, effect %+.4f, n_to %.0f, n_from %.0f",
		c.Name, checkValue(c, c.Value), vs, j.Outcome, j.PValue, j.Confidence, j.Effect, j.NTo, j.NFrom)
}
