// Command samnav is Samnav's command-line tool: `samnav dev` runs the whole
// hub in one process on the embedded defaults; other subcommands work on
// contracts, topics and subscriptions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one `samnav <name>` subcommand. Each lives in its own file and
// registers itself from init, so subcommands are added without touching this
// file.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("samnav: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error the user caused by calling samnav wrongly; main
// exits with status 2 for it, as flag does.
var errUsage = errors.New("usage")

// parseFlags parses the flags of a samnav command: -h prints usage, the
// text above the flags ("" for flag's own), and is flag.ErrHelp (exit
// 0); any other problem is an errUsage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string, usage string) error {
	if usage != "" {
		fs.Usage = func() {
			_, _ = fmt.Fprintln(fs.Output(), usage)
			fs.PrintDefaults()
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "samnav:", err)
		os.Exit(2)
	default:
		slog.Error("samnav failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	_, _ = fmt.Fprintln(w, "samnav: the city's shared data hub\n\nUsage: samnav <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_, _ = fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	_, _ = fmt.Fprintln(w, "\nRun 'samnav <command> -h' for a command's flags.")
}
