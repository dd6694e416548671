// Command turnout moves API traffic from one version of a service to the
// next: see README.md and `turnout --help`.
package main

import (
	"os"

	"github.com/turnout-gw/turnout/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
