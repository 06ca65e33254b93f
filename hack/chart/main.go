// Command chart writes the generated part of charts/cognito-mfa-operator
// (its files/ folder) from config/, the one source of truth: `make chart`.
// With -check it writes nothing and fails when the chart's copies are stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/hack/chart/chartgen"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	check := flag.Bool("check", false, "write nothing; fail when the chart's generated files are stale")
	flag.Parse()
	chartDir := filepath.Join(*root, chartgen.ChartDir)
	if *check {
		diffs, err := chartgen.Diff(*root, chartDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chart:", err)
			os.Exit(1)
		}
		for _, d := range diffs {
			fmt.Fprintln(os.Stderr, chartgen.ChartDir+"/"+d)
		}
		if len(diffs) > 0 {
			fmt.Fprintln(os.Stderr, "the chart's generated files are stale: run make chart")
			os.Exit(1)
		}
		return
	}
	if err := chartgen.Write(*root, chartDir); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}
