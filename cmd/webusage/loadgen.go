package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"webusage/loadgen"
)

func init() {
	register("loadgen", command{summary: "simulate a fleet of extensions posting usage and report the server's figures", run: runLoadgen})
}

func runLoadgen(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.err)
	var cfg loadgen.Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL")
	fs.StringVar(&cfg.Token, "token", "", "enrollment token (or WEBUSAGE_TOKEN)")
	fs.IntVar(&cfg.Devices, "devices", 100, "number of simulated devices")
	fs.Float64Var(&cfg.Rate, "rate", 0, "events per second over the fleet (0: as fast as the server answers)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to generate load (0: until interrupted)")
	fs.IntVar(&cfg.BatchSize, "batch", 100, "events per batch (1..1000)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 4*runtime.GOMAXPROCS(0), "requests in flight at most")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "fleet seed: the same seed sends the same devices and event ids")
	fs.BoolVar(&cfg.ForwardedFor, "forwarded-for", false, "send each device's public IP as X-Forwarded-For (the server must trust this host as a proxy)")
	ackLog := fs.String("ack-log", "", "append the id of every acknowledged event to `FILE`, one per line")
	apps := fs.String("apps", "", "comma-separated application patterns, each optionally `ID=`-prefixed (default: the server's extension config)")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	if err := envFlags(fs); err != nil {
		fmt.Fprintf(io.err, "loadgen: %v\n", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.err, "loadgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *apps != "" {
		parsed, err := loadgen.ParseApps(*apps)
		if err != nil {
			fmt.Fprintln(io.err, err)
			return 2
		}
		cfg.Apps = parsed
	}
	if *ackLog != "" {
		f, err := os.OpenFile(*ackLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(io.err, "loadgen: open ack log: %v\n", err)
			return 1
		}
		defer f.Close()
		cfg.AckLog = f
	}

	res, err := loadgen.Run(ctx, cfg)
	if res == nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	if werr := writeLoadgenResult(io.out, res, *asJSON); werr != nil {
		fmt.Fprintf(io.err, "loadgen: write result: %v\n", werr)
		return 1
	}
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	return 0
}

func writeLoadgenResult(w io.Writer, res *loadgen.Result, asJSON bool) error {
	if !asJSON {
		return res.WriteTable(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
