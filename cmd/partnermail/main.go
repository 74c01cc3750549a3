// Command partnermail is the partner messaging gateway: one binary that
// serves inbound SMTP, submission, IMAP and the outbound worker, and the
// administration commands that set companies, staff, groups and partners.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// cli is the command line. Subcommands live beside it, one file per noun.
type cli struct {
	Config string `help:"Configuration file (TOML). Without it: dev mode on loopback." type:"path" env:"PARTNERMAIL_CONFIG"`
	JSON   bool   `help:"Print results as JSON, for scripts."`

	Serve   serveCmd   `cmd:"" help:"Run the gateway: inbound SMTP, submission, IMAP, outbound worker, HTTP."`
	Migrate migrateCmd `cmd:"" help:"Apply pending database migrations."`
	Check   checkCmd   `cmd:"" help:"Validate the configuration and print the DNS records to publish."`
	Company companyCmd `cmd:"" help:"Companies (tenants) and their mail domains."`
	Staff   staffCmd   `cmd:"" help:"Staff logins."`
	Group   groupCmd   `cmd:"" help:"Partner groups and their messaging switch."`
	Partner partnerCmd `cmd:"" help:"Partner teams and members."`

	outboundCmds `embed:""`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a process exit code through kong's parse.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// run executes one command line and returns the exit code; errors are
// printed as one line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("partnermail"),
		kong.Description("Email-centric messaging gateway for partner programs."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitError(code)) }),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintf(stderr, "partnermail: %v\n", err)
		return 2
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exitError)
			if !ok {
				panic(r)
			}
			code = int(e)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "partnermail: %v\n", err)
		return 2
	}
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, cli: &c}
	defer a.close()
	if err := kctx.Run(a); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return int(ee)
		}
		fmt.Fprintf(stderr, "partnermail: %v\n", err)
		return 1
	}
	return 0
}
