// Command webusage is the web-usage backend: it serves the HTTP API the browser
// extension and analysts use, and offers offline tools (sanitize, geo, loadgen, ...).
//
// Each subcommand lives in its own file and registers itself in init(), so
// main.go only dispatches.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// stdio carries the streams a subcommand reads and writes, so tests can run
// subcommands in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one subcommand: a one-line summary for the usage text and the
// function that runs it and returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, io stdio) int
}

var commands = map[string]command{}

// register adds a subcommand; it is called from init() in the subcommand's file.
func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("webusage: duplicate subcommand " + name)
	}
	commands[name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.err)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "webusage: unknown command %q\n\n", args[0])
		usage(io.err)
		return 2
	}
	return c.run(ctx, args[1:], io)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: webusage <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
