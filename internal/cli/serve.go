package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/gateway"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

func serveCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "serve -c FILE",
		Short: "Run the gateway: data plane, admin API and dashboard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadChecked(file, cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s is not valid; not starting", file)}
			}
			log := telemetry.NewLogger(cmd.ErrOrStderr(), cfg.Log)
			app, err := gateway.Start(cfg, file, gateway.AppOptions{Log: log, Watch: true})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			return waitAndStop(app, log)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	return cmd
}

// waitAndStop blocks until SIGINT/SIGTERM or a listener failure, then drains.
func waitAndStop(app *gateway.App, log *slog.Logger) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	var runErr error
	select {
	case s := <-sig:
		log.Info("stopping", "signal", s.String())
	case runErr = <-app.Server.Err():
		log.Error("listener failed", "error", runErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := app.Stop(ctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	if runErr != nil {
		return &exitError{code: 1, err: runErr}
	}
	return nil
}
