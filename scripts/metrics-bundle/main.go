// Command metrics-bundle writes the metrics bundle of an experiment
// directory (experiment.WriteMetricsBundle), for scripts/archive-experiment.sh:
//
//	go run ./scripts/metrics-bundle SRC DST
//
// reads the results.json of the experiment in SRC and the metrics of the runs
// its report draws, and writes DST/metrics.jsonl.gz.
package main

import (
	"fmt"
	"os"

	"lethe/experiment"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: metrics-bundle SRC DST")
		os.Exit(2)
	}
	if err := experiment.WriteMetricsBundle(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
