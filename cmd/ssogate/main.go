// Command ssogate is the SAML and SCIM gateway between Microsoft Entra ID
// and the product: `ssogate serve` runs it, the other commands administer
// the same database. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the drain; a second one ends the process at
	// once (the default action comes back).
	context.AfterFunc(ctx, stop)
	if err := runEnviron(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ssogate:", err)
		os.Exit(1)
	}
}
