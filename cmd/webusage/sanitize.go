package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"webusage/sanitize"
)

func init() {
	register("sanitize", command{summary: "sanitize URLs read one per line on stdin", run: runSanitize})
}

// errLineTooLong is reported for an input line longer than sanitize.MaxInputLen.
var errLineTooLong = errors.New("sanitize: input too long")

// runSanitize implements `webusage sanitize [--template] [--allow KEYS]`: for
// every line on stdin it writes one line on stdout, in order: the sanitized
// URL (or, with --template, its path template), or an empty line where the
// input cannot be sanitized, with the reason (never the input) on stderr.
func runSanitize(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("webusage sanitize", flag.ContinueOnError)
	fs.SetOutput(std.err)
	template := fs.Bool("template", false, "print the path template instead of the sanitized URL")
	allow := fs.String("allow", "", "comma-separated extra query keys to keep (sensitive and tracking keys are refused)")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: webusage sanitize [--template] [--allow KEY,...] < urls.txt")
		fs.PrintDefaults()
	}
	if err := envFlags(fs); err != nil {
		fmt.Fprintf(std.err, "webusage sanitize: environment: %v\n", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(std.err, "webusage sanitize: URLs are read from stdin, not from arguments")
		return 2
	}
	var opts sanitize.Options
	for i, k := range strings.Split(*allow, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if err := sanitize.CheckAllowedQueryKey(k); err != nil {
			fmt.Fprintf(std.err, "webusage sanitize: --allow key %d: %v\n", i+1, err)
			return 2
		}
		opts.AllowedQueryKeys = append(opts.AllowedQueryKeys, k)
	}

	in := bufio.NewReaderSize(std.in, 64<<10)
	out := bufio.NewWriter(std.out)
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			out.Flush()
			return 1
		}
		line, err := readLine(in)
		if err == io.EOF {
			break
		}
		var res sanitize.Result
		switch {
		case errors.Is(err, errLineTooLong):
		case err != nil:
			out.Flush()
			fmt.Fprintf(std.err, "webusage sanitize: read stdin: %v\n", err)
			return 1
		default:
			res, err = sanitize.URL(line, opts)
		}
		if err != nil {
			fmt.Fprintf(std.err, "webusage sanitize: line %d: %v\n", n, err)
		}
		if *template {
			out.WriteString(res.Template)
		} else {
			out.WriteString(res.URL)
		}
		out.WriteByte('\n')
		// Flush when no more input is waiting, so interactive use and
		// line-by-line pipes see each answer at once.
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				fmt.Fprintf(std.err, "webusage sanitize: write stdout: %v\n", err)
				return 1
			}
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(std.err, "webusage sanitize: write stdout: %v\n", err)
		return 1
	}
	return 0
}

// readLine returns the next line without its "\n" or "\r\n". A line longer
// than sanitize.MaxInputLen is consumed and reported as errLineTooLong, so
// output stays line-aligned. It returns io.EOF only when no line is left.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(b)+len(chunk) > sanitize.MaxInputLen+2 {
				tooLong, b = true, nil
			} else {
				b = append(b, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(b) == 0 && !tooLong {
				return "", io.EOF
			}
		case err != nil:
			return "", err
		}
		break
	}
	if tooLong {
		return "", errLineTooLong
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
