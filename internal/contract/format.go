package contract

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats a report can be written in.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// Write writes r in format (text, json or markdown; "md" is markdown). failOn
// is the level from which the report counts as breaking; the summary says
// which.
func Write(w io.Writer, r *Report, format string, failOn Level) error {
	switch format {
	case FormatText, "":
		return WriteText(w, r, failOn)
	case FormatJSON:
		return WriteJSON(w, r, failOn)
	case FormatMarkdown, "md":
		return WriteMarkdown(w, r, failOn)
	}
	return fmt.Errorf("format %q: use text, json or markdown", format)
}

// verdict is "breaking" or "compatible" at failOn.
func verdict(r *Report, failOn Level) string {
	if r.Breaking(failOn) {
		return "breaking"
	}
	return "compatible"
}

// WriteText writes the report for a terminal: a heading, each item as a
// level, its operation and message, then its rule ID and location, and a
// summary line.
func WriteText(w io.Writer, r *Report, failOn Level) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s\n", r.Old, r.New)
	for _, it := range r.Items {
		op := ""
		if it.Operation != "" {
			op = it.Operation + ": "
		}
		fmt.Fprintf(&b, "\n%-4s  %s%s\n", it.Level, op, it.Message)
		where := it.ID
		if it.Source != nil {
			where += " at " + it.Source.String()
		}
		fmt.Fprintf(&b, "      %s\n", where)
		if it.Comment != "" {
			fmt.Fprintf(&b, "      %s\n", oneLine(it.Comment))
		}
	}
	if len(r.Items) == 0 {
		b.WriteString("\nno changes\n")
	}
	fmt.Fprintf(&b, "\n%s: %s (fails on %s)\n", r.Summary(), verdict(r, failOn), failOn)
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonReport is the JSON form of a report.
type jsonReport struct {
	Old        string         `json:"old"`
	New        string         `json:"new"`
	FailOn     Level          `json:"fail_on"`
	Compatible bool           `json:"compatible"`
	Counts     map[string]int `json:"counts"`
	Items      []Item         `json:"items"`
}

// JSON returns the report's JSON form at failOn: old, new, fail_on,
// compatible, counts per level and the items.
func (r *Report) JSON(failOn Level) any {
	items := r.Items
	if items == nil {
		items = []Item{}
	}
	return jsonReport{Old: r.Old, New: r.New, FailOn: failOn, Compatible: !r.Breaking(failOn),
		Counts: map[string]int{"ERR": r.Count(ERR), "WARN": r.Count(WARN), "INFO": r.Count(INFO)}, Items: items}
}

// WriteJSON writes the report as indented JSON (see Report.JSON).
func WriteJSON(w io.Writer, r *Report, failOn Level) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.JSON(failOn)); err != nil {
		return fmt.Errorf("writing the report as JSON: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report as a Markdown section with a table, for
// pull-request comments and CI summaries.
func WriteMarkdown(w io.Writer, r *Report, failOn Level) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## OpenAPI compatibility: `%s` → `%s`\n\n", r.Old, r.New)
	fmt.Fprintf(&b, "**%s** (fails on %s): %s\n", strings.ToUpper(verdict(r, failOn)[:1])+verdict(r, failOn)[1:], failOn, r.Summary())
	if len(r.Items) > 0 {
		b.WriteString("\n| Level | Operation | Change | Rule | Where |\n|---|---|---|---|---|\n")
		for _, it := range r.Items {
			op, where := "", ""
			if it.Operation != "" {
				op = "`" + it.Operation + "`"
			}
			if it.Source != nil {
				where = "`" + it.Source.String() + "`"
			}
			msg := cell(it.Message)
			if it.Comment != "" {
				msg += "<br>" + cell(it.Comment)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s |\n", it.Level, op, msg, it.ID, where)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

// oneLine joins a text's lines with spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
