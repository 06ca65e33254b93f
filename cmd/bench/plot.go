package main

import (
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotScale draws the scale curve: throughput, RSS and CPU per enrollment
// against the number of enrollments, side by side, into a PNG.
func plotScale(rows []*scaleRow, path string) error {
	panels := []struct {
		title, y string
		value    func(*scaleRow) float64
	}{
		{"Throughput", "enrollments/s to all Ready", func(r *scaleRow) float64 { return r.PerSecond }},
		{"Manager memory", "RSS, MiB", func(r *scaleRow) float64 { return r.RSSMiB }},
		{"Manager CPU", "ms per enrollment", func(r *scaleRow) float64 { return r.CPUMillisPer }},
	}
	const w, h = 15 * vg.Centimeter, 10 * vg.Centimeter
	img := vgimg.NewWith(vgimg.UseWH(w*vg.Length(len(panels)), h), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Centimeter, PadY: vg.Centimeter / 2,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	for i, panel := range panels {
		p := plot.New()
		p.Title.Text = panel.title
		p.X.Label.Text = "enrollments"
		p.Y.Label.Text = panel.y
		p.Y.Min = 0
		pts := make(plotter.XYs, len(rows))
		for j, r := range rows {
			pts[j] = plotter.XY{X: float64(r.Enrollments), Y: panel.value(r)}
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		p.Add(line, points, plotter.NewGrid())
		p.Draw(tiles.At(dc, i, 0))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
