// Command report turns the output of the bench module's benchmarks into
// bench/RESULTS.md: a table per scenario with each contender's medians and
// its ratio to ours, measured in the same runs.
//
//	go run ./internal/report -o RESULTS.md [flags] RUN-FILE...
//
// Each RUN-FILE holds the output of one run (-count 1) of some benchmarks;
// run.sh passes one per area and repetition, in order. Benchmark names are
// Benchmark<Area>/<scenario>/impl=<contender>; BenchmarkGenerator/<what>
// (from ../internal/gen) is read as area Generator with <what> as the contender.
//
// A row's ratio is ours ÷ the peer's time, the median over the runs of the
// ratio within each run (both were measured in the same process minutes
// apart), so that a machine that slows down for a while moves both. Below
// 1.00 we are faster.
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// sample is one benchmark result: metric unit → value.
type sample map[string]float64

// series is every run's result of one benchmark, in run order.
type series struct {
	area, scenario, impl string
	runs                 []sample
}

func (s *series) median(unit string) (float64, bool) {
	var vs []float64
	for _, r := range s.runs {
		if v, ok := r[unit]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	return median(vs), true
}

func median(vs []float64) float64 {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// parse reads benchmark lines from r into byName, appending a run to each.
func parse(r io.Reader, byName map[string]*series, order *[]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		s := sample{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("%s: value %q: %v", f[0], f[i], err)
			}
			s[f[i+1]] = v
		}
		se := byName[name]
		if se == nil {
			parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
			se = &series{area: parts[0]}
			last := parts[len(parts)-1]
			if impl, ok := strings.CutPrefix(last, "impl="); ok {
				se.impl = impl
				se.scenario = strings.Join(parts[1:len(parts)-1], "/")
			} else {
				se.impl = last
				se.scenario = strings.Join(parts[1:len(parts)-1], "/")
			}
			byName[name] = se
			*order = append(*order, name)
		}
		se.runs = append(se.runs, s)
	}
	return sc.Err()
}

// ours reports whether impl is our contender in area.
func ours(area, impl string) bool {
	if area == "Generator" {
		return impl != "floor"
	}
	return impl == "futures" || strings.HasPrefix(impl, "futures-")
}

// ratios returns, run by run, a's ns/op over b's.
func ratios(a, b *series) []float64 { return unitRatios(a, b, "ns/op") }

// unitRatios returns, run by run, a's unit over b's.
func unitRatios(a, b *series, unit string) []float64 {
	var rs []float64
	for i := range min(len(a.runs), len(b.runs)) {
		x, okx := a.runs[i][unit]
		y, oky := b.runs[i][unit]
		if okx && oky && y > 0 {
			rs = append(rs, x/y)
		}
	}
	return rs
}

func fmtTime(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// extraUnits are the custom metrics shown, in this order, when present.
var extraUnits = []string{"tasks/s", "req/s", "cpu-µs/req", "x-floor", "cpu-ms/op", "x-floor-cpu"}

// cpuUnit is the process CPU time per op, which the bench module reports
// next to wall time; the report shows it as a time and its ratio.
const cpuUnit = "cpu-ns/op"

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	log.SetFlags(0)
	var (
		out      = flag.String("o", "RESULTS.md", "output file")
		header   = flag.String("header", "", "file whose text goes first (machine, command)")
		notesDir = flag.String("notes", "notes", "directory of <Area>.md files: what each peer skips, and why we lose where we do")
		pending  stringList
	)
	flag.Var(&pending, "pending", "AREA=why: an area listed with no figures (repeatable)")
	flag.Parse()

	byName := map[string]*series{}
	var order []string
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			log.Fatal(err)
		}
		err = parse(f, byName, &order)
		f.Close()
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
	}

	var w strings.Builder
	if *header != "" {
		b, err := os.ReadFile(*header)
		if err != nil {
			log.Fatal(err)
		}
		w.Write(b)
	}

	// Areas and scenarios in the order the benchmarks ran.
	type key struct{ area, scenario string }
	var areas []string
	scenarios := map[string][]string{}
	rows := map[key][]*series{}
	for _, name := range order {
		s := byName[name]
		k := key{s.area, s.scenario}
		if _, ok := rows[k]; !ok {
			if _, seen := scenarios[s.area]; !seen {
				areas = append(areas, s.area)
			}
			scenarios[s.area] = append(scenarios[s.area], s.scenario)
		}
		rows[k] = append(rows[k], s)
	}

	var summary []string
	for _, area := range areas {
		fmt.Fprintf(&w, "\n## %s\n", area)
		if b, err := os.ReadFile(fmt.Sprintf("%s/%s.md", *notesDir, area)); err == nil {
			fmt.Fprintf(&w, "\n%s", b)
		}
		for _, sc := range scenarios[area] {
			rs := rows[key{area, sc}]
			var base []*series
			for _, s := range rs {
				if ours(area, s.impl) {
					base = append(base, s)
				}
			}
			units := []string{}
			for _, u := range extraUnits {
				for _, s := range rs {
					if _, ok := s.median(u); ok {
						units = append(units, u)
						break
					}
				}
			}
			title := sc
			if title == "" {
				title = strings.ToLower(area)
			}
			fmt.Fprintf(&w, "\n### %s: %s\n\n", area, title)
			hasCPU := false
			for _, s := range rs {
				if _, ok := s.median(cpuUnit); ok {
					hasCPU = true
				}
			}
			head := []string{"contender", "time/op"}
			if hasCPU {
				head = append(head, "CPU/op")
			}
			head = append(head, "allocs/op", "B/op")
			head = append(head, units...)
			if area == "Generator" {
				head = append(head, "this ÷ floor (time)", "this ÷ floor (CPU)", "runs")
			} else {
				head = append(head, "futures ÷ this (time)")
				if hasCPU {
					head = append(head, "futures ÷ this (CPU)")
				}
				head = append(head, "runs")
			}
			fmt.Fprintf(&w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
			// Ours first, then the peers in the order they ran.
			sorted := slices.Clone(rs)
			slices.SortStableFunc(sorted, func(a, b *series) int {
				return cmp.Compare(b2i(!ours(area, a.impl)), b2i(!ours(area, b.impl)))
			})
			if area == "Generator" {
				// The floor first: every other row is compared with it.
				slices.SortStableFunc(sorted, func(a, b *series) int {
					return cmp.Compare(b2i(ours(area, a.impl)), b2i(ours(area, b.impl)))
				})
			}
			for _, s := range sorted {
				cells := []string{s.impl}
				if ours(area, s.impl) && area != "Generator" {
					cells[0] = "**" + s.impl + "**"
				}
				ns, _ := s.median("ns/op")
				cells = append(cells, fmtTime(ns))
				if hasCPU {
					v, _ := s.median(cpuUnit)
					cells = append(cells, fmtTime(v))
				}
				for _, u := range []string{"allocs/op", "B/op"} {
					if v, ok := s.median(u); ok {
						cells = append(cells, fmtNum(v))
					} else {
						cells = append(cells, "")
					}
				}
				for _, u := range units {
					if v, ok := s.median(u); ok {
						cells = append(cells, fmtNum(v))
					} else {
						cells = append(cells, "")
					}
				}
				ratioCell := "—"
				switch {
				case area == "Generator" && !ours(area, s.impl):
					ratioCell = "— | —"
				case area == "Generator" && ours(area, s.impl):
					for _, f := range rs {
						if f.impl == "floor" {
							r, rc := ratios(s, f), unitRatios(s, f, "cpu-ms/op")
							ratioCell = fmtRatio(r) + " | " + fmtRatio(rc)
							summary = append(summary, fmt.Sprintf("| %s | %s | %s vs floor | %s | %s |", area, title, s.impl, verdictGen(r), verdictGen(rc)))
						}
					}
				case area != "Generator" && !ours(area, s.impl) && len(base) == 1:
					r := ratios(base[0], s)
					ratioCell = fmtRatio(r)
					cpuNote := ""
					if hasCPU {
						rc := unitRatios(base[0], s, cpuUnit)
						ratioCell += " | " + fmtRatio(rc)
						if len(rc) > 0 {
							cpuNote = fmt.Sprintf("%.2f", median(rc))
						}
					}
					summary = append(summary, fmt.Sprintf("| %s | %s | vs %s | %s | %s |", area, title, s.impl, verdict(r), cpuNote))
				case hasCPU && area != "Generator":
					ratioCell = "— | —"
				}
				cells = append(cells, ratioCell, strconv.Itoa(len(s.runs)))
				fmt.Fprintf(&w, "| %s |\n", strings.Join(cells, " | "))
			}
		}
	}
	for _, p := range pending {
		area, why, _ := strings.Cut(p, "=")
		fmt.Fprintf(&w, "\n## %s\n\n%s\n", area, why)
		summary = append(summary, fmt.Sprintf("| %s | — | — | %s | |", area, why))
	}

	var s strings.Builder
	s.WriteString("\n## Summary\n\nEvery row of every table below, ours against one peer: the median ratio of our wall time per op to the peer's, run by run (below 1.00 we are faster), and the same for the process's CPU time per op, which other work on a shared machine disturbs less. The verdict is on wall time: ahead (≤ 1.00), within 10% (≤ 1.10), or behind.\n\n| area | scenario | row | futures ÷ peer (time) | futures ÷ peer (CPU) |\n|---|---|---|---|---|\n")
	for _, line := range summary {
		s.WriteString(line + "\n")
	}
	text := w.String()
	// The summary goes after the header, before the first area.
	if i := strings.Index(text, "\n## "); i >= 0 {
		text = text[:i] + s.String() + text[i:]
	} else {
		text += s.String()
	}
	if b, err := os.ReadFile(*notesDir + "/Analysis.md"); err == nil {
		text += "\n" + string(b)
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fmtRatio gives the median ratio and, with more than one run, the range.
func fmtRatio(rs []float64) string {
	if len(rs) == 0 {
		return "?"
	}
	if len(rs) == 1 {
		return fmt.Sprintf("%.2f", rs[0])
	}
	return fmt.Sprintf("**%.2f** (%.2f–%.2f)", median(rs), slices.Min(rs), slices.Max(rs))
}

func verdict(rs []float64) string {
	if len(rs) == 0 {
		return "?"
	}
	m := median(rs)
	switch {
	case m <= 1.0:
		return fmt.Sprintf("%.2f: ahead", m)
	case m <= 1.10:
		return fmt.Sprintf("%.2f: within 10%%", m)
	}
	return fmt.Sprintf("%.2f: **behind**", m)
}

func verdictGen(rs []float64) string {
	if len(rs) == 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f× the floor", median(rs))
}
