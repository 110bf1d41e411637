// Package bench holds the benchmarks of futures against the libraries
// people would pick instead. It is its own module, so that those libraries
// never enter the main module's go.mod; run.sh runs every comparison and
// writes RESULTS.md.
//
// Every benchmark is named Benchmark<Area>/<scenario>/impl=<contender>, and
// the contender named "futures" (or "futures-…") is ours: the report
// (internal/report) compares every other contender of a scenario with it.
package bench
