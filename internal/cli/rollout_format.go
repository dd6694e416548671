package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/store"
)

// now is the clock the human output measures ages with.
var now = time.Now

// maxReason is how many characters of a reason the status table shows.
const maxReason = 60

// timeLayout is how the detailed status prints instants (local time).
const timeLayout = "2006-01-02 15:04:05 MST"

// writeStatusTable prints one line per rollout.
func writeStatusTable(w io.Writer, list []rollout.Status, at time.Time) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no rollouts configured")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tFROM\tTO\tSTATE\tWEIGHT\tSTEP\tUPDATED\tREASON")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Service, s.From, s.To, s.State, pct(s.Weight),
			stepOf(s), age(at, s.UpdatedAt), truncate(oneLine(s.Reason), maxReason))
	}
	return tw.Flush()
}

// writeStatusDetail prints one rollout, its last analysis and its recent
// events (or why they could not be read).
func writeStatusDetail(w io.Writer, s rollout.Status, events []store.Event, evErr error, at time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "service:\t%s\n", s.Service)
	fmt.Fprintf(tw, "rollout:\t%s → %s\n", s.From, s.To)
	fmt.Fprintf(tw, "state:\t%s\n", s.State)
	fmt.Fprintf(tw, "weight:\t%s\n", pct(s.Weight))
	if len(s.Steps) > 0 {
		steps := make([]string, len(s.Steps))
		for i, v := range s.Steps {
			steps[i] = pct(v)
			if i == s.Step {
				steps[i] = "[" + steps[i] + "]"
			}
		}
		every := ""
		if s.StepInterval != "" {
			every = ", every " + s.StepInterval
		}
		pos := fmt.Sprintf("%d of %d", s.Step+1, len(s.Steps))
		if s.Step < 0 {
			pos = "before the first"
		}
		fmt.Fprintf(tw, "step:\t%s: %s%s\n", pos, strings.Join(steps, " → "), every)
	}
	if s.Sticky != "" {
		fmt.Fprintf(tw, "sticky:\t%s\n", s.Sticky)
	}
	fmt.Fprintf(tw, "started:\t%s\n", when(at, s.StartedAt))
	fmt.Fprintf(tw, "updated:\t%s\n", when(at, s.UpdatedAt))
	fmt.Fprintf(tw, "reason:\t%s\n", oneLine(s.Reason))
	if err := tw.Flush(); err != nil {
		return err
	}
	writeAnalysis(w, s, at)
	return writeEvents(w, events, evErr)
}

// writeAnalysis prints the last analysis: result, traffic, every check.
func writeAnalysis(w io.Writer, s rollout.Status, at time.Time) {
	a := s.LastAnalysis
	if a == nil {
		fmt.Fprintln(w, "\nlast analysis: none yet")
		return
	}
	fmt.Fprintf(w, "\nlast analysis: %s, %s (window %v)\n", a.Result, age(at, a.At), a.Window)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  requests:\t%d to %s, %d failed (min %d); %d to %s\n",
		a.Requests, s.To, a.Errors, a.MinRequests, a.From.Requests, s.From)
	for _, c := range a.Checks {
		if c.Judgement != nil {
			writeJudged(tw, s, c)
			continue
		}
		verdict, op := "ok", "≤"
		if !c.OK {
			verdict, op = "FAIL", ">"
		}
		base := ""
		if c.Baseline != nil {
			base = fmt.Sprintf(" (%s: %s)", s.From, checkValue(c, *c.Baseline))
		}
		fmt.Fprintf(tw, "  %s:\t%s %s %s%s\t%s\n", c.Name, checkValue(c, c.Value), op, checkValue(c, c.Threshold), base, verdict)
	}
	fmt.Fprintf(tw, "  reason:\t%s\n", oneLine(a.Reason))
	_ = tw.Flush()
}

// writeJudged prints a statistical judge's check: the values compared,
// the always-valid p-value against its bound, the effect and the samples.
func writeJudged(w io.Writer, s rollout.Status, c rollout.Check) {
	j := c.Judgement
	verdict := map[string]string{"pass": "ok", "worse": "FAIL"}[j.Outcome]
	if verdict == "" {
		verdict = j.Outcome
	}
	vs := fmt.Sprintf("max %s", checkValue(c, c.Threshold))
	samples := fmt.Sprintf("n %.0f", j.NTo)
	if c.Baseline != nil {
		vs = fmt.Sprintf("%s: %s", s.From, checkValue(c, *c.Baseline))
		samples = fmt.Sprintf("n %.0f/%.0f", j.NTo, j.NFrom)
	}
	fmt.Fprintf(w, "  %s:\t%s (%s), p %.2g at %.4g confidence, effect %+.4f, %s\t%s\n",
		c.Name, checkValue(c, c.Value), vs, j.PValue, j.Confidence, j.Effect, samples, verdict)
}

// writeEvents prints the service's recent events, oldest first.
func writeEvents(w io.Writer, events []store.Event, evErr error) error {
	if evErr != nil {
		_, err := fmt.Fprintf(w, "\nrecent events: unavailable: %v\n", evErr)
		return err
	}
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "\nrecent events: none")
		return err
	}
	fmt.Fprintf(w, "\nrecent events (last %d):\n", len(events))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Type, e.Actor, oneLine(e.Message))
	}
	return tw.Flush()
}

// checkValue formats a check's number in its unit.
func checkValue(c rollout.Check, v float64) string {
	if c.Unit == "seconds" {
		return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// pct formats a weight as "25%" or "0.5%".
func pct(w float64) string { return strconv.FormatFloat(w, 'f', -1, 64) + "%" }

// stepOf is "2/4" for the second of four steps, "-" without steps.
func stepOf(s rollout.Status) string {
	if len(s.Steps) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", s.Step+1, len(s.Steps))
}

// when is an instant with its age.
func when(at, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeLayout) + " (" + age(at, t) + ")"
}

// age is how long ago t was, coarsely: "12s ago", "5m ago", "3h ago", "2d ago".
func age(at, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := at.Sub(t)
	switch {
	case d < -time.Minute:
		return t.Local().Format("2006-01-02 15:04")
	case d < 0:
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// oneLine folds newlines so a value keeps its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate shortens s to n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
