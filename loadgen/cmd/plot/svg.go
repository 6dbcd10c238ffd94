package main

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
)

const (
	width       = 900
	panelHeight = 150
	marginLeft  = 80
	marginRight = 20
	panelGap    = 40
	titleSpace  = 40
	axisSpace   = 40
)

var colors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// renderSVG writes one panel per y column of s, stacked, sharing the x axis.
func renderSVG(w io.Writer, title string, s *series) error {
	bw := bufio.NewWriter(w)
	height := titleSpace + len(s.ys)*(panelHeight+panelGap) + axisSpace
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", marginLeft, html.EscapeString(title))

	xMin, xMax := bounds(s.x)
	if xMax == xMin {
		xMax = xMin + 1
	}
	plotW := float64(width - marginLeft - marginRight)
	px := func(x float64) float64 { return marginLeft + (x-xMin)/(xMax-xMin)*plotW }

	for i, ys := range s.ys {
		top := float64(titleSpace + i*(panelHeight+panelGap) + panelGap/2)
		_, yMax := bounds(ys)
		yTop := niceCeil(yMax)
		py := func(y float64) float64 { return top + panelHeight - y/yTop*panelHeight }
		color := colors[i%len(colors)]

		lo, hi := bounds(ys)
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" font-weight="bold">%s</text>`, marginLeft, top-6, html.EscapeString(s.names[i]))
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">min %s  max %s  last %s</text>`+"\n",
			width-marginRight, top-6, num(lo), num(hi), num(last(ys)))
		fmt.Fprintf(bw, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="none" stroke="#ccc"/>`+"\n", marginLeft, top, plotW, panelHeight)
		for _, f := range []float64{0, 0.5, 1} {
			y := py(f * yTop)
			fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, marginLeft, y, marginLeft+plotW, y)
			fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginLeft-6, y+4, num(f*yTop))
		}
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, color)
		for k, y := range ys {
			if k > 0 {
				bw.WriteByte(' ')
			}
			fmt.Fprintf(bw, "%.1f,%.1f", px(s.x[k]), py(y))
		}
		fmt.Fprintf(bw, `"/>`+"\n")
	}

	axisY := float64(titleSpace + len(s.ys)*(panelHeight+panelGap))
	for k := 0; k <= 5; k++ {
		x := xMin + float64(k)/5*(xMax-xMin)
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, px(x), axisY, num(x))
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", marginLeft+plotW/2, axisY+20, html.EscapeString(s.xName))
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

func bounds(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return 0, 0
	}
	return slices.Min(v), slices.Max(v)
}

func last(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for v ≤ 0),
// with headroom so a flat series sits below the panel's top.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	v *= 1.25
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// num formats v compactly for an axis label.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
