package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/gctune"
	"github.com/turnout-gw/turnout/internal/reuseport"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

func serveCmd() *cobra.Command {
	var file string
	var stateWait time.Duration
	var takeover bool
	cmd := &cobra.Command{
		Use:   "serve -c FILE [--takeover]",
		Short: "Run the gateway: data plane, admin API and dashboard",
		Long: `Run the gateway: data plane, admin API and dashboard.

serve refuses (exit 1) an address another running turnout holds, naming its
pid. serve --takeover replaces that turnout without losing a request: it
binds every address beside the old process (SO_REUSEPORT), sends it SIGTERM
once it no longer needs it (before waiting for the state file the old one
holds, or once it serves), and the old one stops accepting, finishes its
in-flight requests and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadChecked(file, cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s is not valid; not starting", file)}
			}
			log := telemetry.NewLogger(cmd.ErrOrStderr(), cfg.Log)
			if os.Getenv("GOGC") == "" { // an operator's GOGC wins
				tuner, _ := gctune.New(gctune.DefaultMinGoal)
				tuner.Start()
				defer tuner.Stop()
			}
			app, err := gateway.Start(cfg, file, gateway.AppOptions{Log: log, Watch: true, StateWait: stateWait, Takeover: takeover})
			if err != nil {
				return &exitError{code: 1, err: withTakeoverHint(err)}
			}
			return waitAndStop(app, log)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	cmd.Flags().DurationVar(&stateWait, "state-wait", DefaultStateWait,
		"how long to wait for another turnout (an old one draining after SIGTERM) to release the state file")
	cmd.Flags().BoolVar(&takeover, "takeover", false,
		"replace the turnout that holds these addresses: bind beside it, then send it SIGTERM (zero-downtime upgrade)")
	return cmd
}

// withTakeoverHint adds how to replace the other turnout to an error saying
// that one holds an address.
func withTakeoverHint(err error) error {
	var iu *reuseport.InUseError
	if errors.As(err, &iu) && iu.Holder.Turnout && !iu.Self {
		return fmt.Errorf("%w; use --takeover to replace it", err)
	}
	return err
}

// DefaultStateWait is how long serve waits for a locked state file: the
// time an upgrade has between starting the new process and sending the old
// one SIGTERM.
const DefaultStateWait = 10 * time.Second

// waitAndStop blocks until SIGINT/SIGTERM or a listener failure, then drains
// for at most limits.shutdown_grace (of the configuration serving then).
func waitAndStop(app *gateway.App, log *slog.Logger) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	var runErr error
	select {
	case s := <-sig:
		log.Info("draining", "signal", s.String())
	case runErr = <-app.Server.Err():
		log.Error("listener failed", "error", runErr)
	}
	start, grace := time.Now(), app.Configs.Config().Limits.ShutdownGrace.D()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := app.Stop(ctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	if runErr != nil {
		return &exitError{code: 1, err: runErr}
	}
	return nil
}
