// Command plot renders a CSV of samples as an SVG of small multiples: one
// panel per column, each plotted against the first column (time in
// seconds), with a y axis from zero so a flat line looks flat.
//
//	go run ./loadgen/cmd/plot -in soak.csv -out docs/soak.svg -title "Soak"
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	in := flag.String("in", "", "CSV file with a header row; first column is elapsed seconds (default stdin)")
	out := flag.String("out", "", "SVG file to write (default stdout)")
	title := flag.String("title", "", "title above the panels")
	flag.Parse()
	if err := run(*in, *out, *title); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(in, out, title string) error {
	var r io.Reader = os.Stdin
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		defer f.Close()
		r = f
	}
	s, err := readSeries(r)
	if err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		defer f.Close()
		w = f
	}
	if err := renderSVG(w, title, s); err != nil {
		return fmt.Errorf("plot: write svg: %w", err)
	}
	return nil
}

// series is the parsed CSV: x values and one named column of y values each.
type series struct {
	xName string
	x     []float64
	names []string
	ys    [][]float64
}

// readSeries parses a CSV whose header names the columns and whose cells
// are numbers; it needs at least two columns and one row.
func readSeries(r io.Reader) (*series, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("plot: read csv: %w", err)
	}
	if len(recs) < 2 || len(recs[0]) < 2 {
		return nil, fmt.Errorf("plot: need a header, at least one row and two columns")
	}
	s := &series{xName: recs[0][0], names: recs[0][1:], ys: make([][]float64, len(recs[0])-1)}
	for i, rec := range recs[1:] {
		for j, cell := range rec {
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				return nil, fmt.Errorf("plot: row %d column %q: %w", i+2, recs[0][j], err)
			}
			if j == 0 {
				s.x = append(s.x, v)
			} else {
				s.ys[j-1] = append(s.ys[j-1], v)
			}
		}
	}
	return s, nil
}
