package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/demo"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// demoShutdown bounds how long stopping the demo may take.
const demoShutdown = 10 * time.Second

func demoCmd() *cobra.Command {
	var (
		o         demo.Options
		failAfter time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Self-contained demo: sample v1/v2 upstreams, the gateway, the dashboard and light load",
		Long: "Starts two built-in sample upstreams (a small \"users\" API whose v1 and v2 answer with\n" +
			"different JSON shapes), Turnout in front of them with examples/demo.yaml, and a light\n" +
			"load generator; prints the URLs and curl commands to try. Ctrl-C stops all of it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if failAfter < 0 {
				return &exitError{code: 2, err: errors.New("--fail-after must not be negative")}
			}
			if o.Rate <= 0 {
				return &exitError{code: 2, err: errors.New("--rate must be more than 0")}
			}
			opts := o
			opts.FailAfter = failAfter
			// Unchanged defaults may fall back to a free port; an address
			// asked for explicitly must be had.
			if !cmd.Flags().Changed("listen") {
				opts.Listen = ""
			}
			if !cmd.Flags().Changed("admin") {
				opts.Admin = ""
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", demo.DefaultListen, "data-plane address (a free port when the default is busy)")
	f.StringVar(&o.Admin, "admin", demo.DefaultAdmin, "admin API and dashboard address (a free port when the default is busy)")
	f.BoolVar(&o.Load, "load", true, "drive light mixed traffic through the gateway so the dashboard moves")
	f.Float64Var(&o.Rate, "rate", demo.DefaultRate, "requests per second of that load")
	f.DurationVar(&failAfter, "fail-after", 0, "make the v2 sample upstream answer 500 after this long (0 = never)")
	return cmd
}

// runDemo starts the demo, prints the banner and runs until ctx is done or
// a listener fails, then stops everything.
func runDemo(ctx context.Context, o demo.Options, stdout, stderr io.Writer) error {
	log := telemetry.NewLogger(stderr, config.Log{Level: "info", Format: "text"})
	o.Log = log
	d, err := demo.Start(ctx, o)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprint(stdout, d.Banner())
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping the demo")
	case runErr = <-d.App.Server.Err():
		log.Error("listener failed", "error", runErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), demoShutdown)
	defer cancel()
	if err := d.Stop(sctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	if runErr != nil {
		return &exitError{code: 1, err: runErr}
	}
	return nil
}
