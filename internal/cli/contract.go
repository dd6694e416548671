package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/contract"
)

// Exit codes of `turnout contract`.
const (
	contractCompatible   = 0 // nothing at or above --fail-on
	contractBreaking     = 1 // changes at or above --fail-on
	contractInvalidInput = 2 // a document cannot be read, parsed or validated; bad flags
)

func contractCmd() *cobra.Command {
	var output, failOn string
	cmd := &cobra.Command{
		Use:   "contract OLD NEW",
		Short: "Compare two OpenAPI documents for backward compatibility (exit 1 when breaking)",
		Long: "Compares the OpenAPI document of the old version (OLD) with the new one (NEW) and reports\n" +
			"every change old clients may notice, graded ERR (breaking), WARN (may break) and INFO, with\n" +
			"oasdiff's rules. Documents are OpenAPI 3.0 or 3.1, YAML or JSON; $refs may point inside the\n" +
			"document or to local files.\n\n" +
			"Exit codes: 0 compatible, 1 changes at or above --fail-on, 2 a document cannot be read,\n" +
			"parsed or validated (FILE:LINE:COL: message), or bad arguments.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError("usage: turnout contract OLD NEW")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			level, err := contract.ParseLevel(failOn)
			if err != nil || level == contract.INFO {
				return usageError("--fail-on %q: want ERR or WARN", failOn)
			}
			switch output {
			case contract.FormatText, contract.FormatJSON, contract.FormatMarkdown, "md":
			default:
				return usageError("--output %q: want text, json or markdown", output)
			}
			old, oerr := contract.Load(args[0])
			new, nerr := contract.Load(args[1])
			if oerr != nil || nerr != nil {
				for _, err := range []error{oerr, nerr} {
					if err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), err)
					}
				}
				return &exitError{code: contractInvalidInput, err: errors.New("not compared: fix the document(s) above")}
			}
			r, err := contract.Compare(old, new)
			if err != nil {
				return &exitError{code: contractInvalidInput, err: err}
			}
			if err := contract.Write(cmd.OutOrStdout(), r, output, level); err != nil {
				return failure(err)
			}
			if r.Breaking(level) {
				return &exitError{code: contractBreaking}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", contract.FormatText, "output format: text | json | markdown")
	cmd.Flags().StringVar(&failOn, "fail-on", "ERR", "exit 1 when a change is at this level or above: ERR | WARN")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	return cmd
}
