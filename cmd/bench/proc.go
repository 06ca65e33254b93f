package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// cpuSeconds is a process's user+system CPU time.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// procStatus is a kB figure from /proc/PID/status, e.g. VmRSS or VmHWM.
func procStatus(pid int, key string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

func scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

func sum(fams map[string]*dto.MetricFamily, name string) float64 {
	total := 0.0
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			total += value(m)
		}
	}
	return total
}

func byLabel(fams map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	out := map[string]float64{}
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					out[l.GetValue()] += value(m)
				}
			}
		}
	}
	return out
}

// histSum is the sum of a histogram's observations over all its series.
func histSum(fams map[string]*dto.MetricFamily, name string) float64 {
	total := 0.0
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			if h := m.Histogram; h != nil {
				total += h.GetSampleSum()
			}
		}
	}
	return total
}

// histMeanBy is a histogram's mean observation per value of label.
func histMeanBy(before, after map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	sums, counts := map[string]float64{}, map[string]float64{}
	for sign, fams := range map[float64]map[string]*dto.MetricFamily{-1: before, 1: after} {
		if f := fams[name]; f != nil {
			for _, m := range f.Metric {
				for _, l := range m.Label {
					if l.GetName() == label && m.Histogram != nil {
						sums[l.GetValue()] += sign * m.Histogram.GetSampleSum()
						counts[l.GetValue()] += sign * float64(m.Histogram.GetSampleCount())
					}
				}
			}
		}
	}
	out := map[string]float64{}
	for k, n := range counts {
		if n > 0 {
			out[k] = 1000 * sums[k] / n
		}
	}
	return out
}
