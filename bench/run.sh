#!/usr/bin/env bash
# Runs every comparison of futures against its peers and writes
# bench/RESULTS.md from one run. Run from anywhere:
#
#   bench/run.sh           the full run: every benchmark COUNT times (default
#                          5), interleaved, then RESULTS.md (10–15 minutes)
#   bench/run.sh -quick    for CI: checks, tests, and every benchmark of this
#                          module once (-benchtime=1x); writes nothing
#   bench/run.sh -report   rewrites RESULTS.md from the last full run's raw
#                          files in results/, after editing notes/
#
# Environment: COUNT (runs, at least 5 for RESULTS.md), BENCHTIME (for the
# in-memory benchmarks, default 1s), HTTP_BENCHTIME (default 40x: each op
# is a batch of 100 requests of at least 10 ms, and every batch of the
# untuned clients opens up to 100 new connections).
#
# Runs n = 1..COUNT each run every area once (-count 1), so that the runs of
# one contender are spread over the whole run like those of its peers; the
# report takes medians over the runs, and ratios within each run.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-full}"
COUNT="${COUNT:-5}"
BENCHTIME="${BENCHTIME:-1s}"
HTTP_BENCHTIME="${HTTP_BENCHTIME:-40x}"

step() { printf '\n== bench: %s\n' "$*"; }

report() {
  pending=()
  if ! grep -qs '^BenchmarkDurable' results/run-*-4-durable.txt; then
    pending=(-pending "Durable=Not measured in this run: BenchmarkDurable compares runtime/durable with River's own API on the same PostgreSQL and skips when FUTURES_TEST_DATABASE_URL is not set.")
  fi
  go run ./internal/report -o RESULTS.md -header results/header.md -notes notes "${pending[@]}" \
    $(ls results/run-*.txt | sort -t- -k2,2n -k3,3n)
  echo "wrote $(pwd)/RESULTS.md"
}

case "$mode" in
  -report) report; exit 0 ;;
  -quick|full) ;;
  *) echo "usage: bench/run.sh [-quick|-report]" >&2; exit 2 ;;
esac

step "go version"; go version

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

step "go vet"
go vet ./...

step "futuresgen --check (bench/views)"
go tool futuresgen --check ./...

step "go test"
go test -count=1 ./...

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/bench.test" .

if [ "$mode" = -quick ]; then
  step "benchmarks (once each)"
  # 1,000 idle connections rather than 10,000: the full load is run by hand
  # (IDLE.md says how).
  FUTURES_BENCH_CONNS=1000 "$tmp/bench.test" -test.run '^$' -test.bench . -test.benchtime 1x -test.benchmem
  echo "(BenchmarkGenerator is in ../internal/gen, which the main module's CI runs once.)"
  exit 0
fi

if [ "$COUNT" -lt 5 ]; then echo "COUNT=$COUNT: RESULTS.md needs at least 5 runs" >&2; exit 2; fi
(cd .. && go test -c -o "$tmp/gen.test" ./internal/gen)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
rm -rf results && mkdir -p results
loads=()
for n in $(seq "$COUNT"); do
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  step "run $n of $COUNT: futures, task loop, views"
  "$tmp/bench.test" -test.run '^$' -test.bench 'Futures|TaskLoop|Views|Validation' -test.benchtime "$BENCHTIME" -test.benchmem | tee "results/run-$n-1-main.txt"
  step "run $n of $COUNT: HTTP client"
  "$tmp/bench.test" -test.run '^$' -test.bench 'HTTPClient' -test.benchtime "$HTTP_BENCHTIME" -test.benchmem | tee "results/run-$n-2-http.txt"
  step "run $n of $COUNT: durable tasks (needs FUTURES_TEST_DATABASE_URL)"
  "$tmp/bench.test" -test.run '^$' -test.bench 'Durable' -test.benchtime 3x -test.benchmem | tee "results/run-$n-4-durable.txt"
  step "run $n of $COUNT: generator"
  (cd ../internal/gen && "$tmp/gen.test" -test.run '^$' -test.bench Generator -test.benchtime 3x) | tee "results/run-$n-3-gen.txt"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

step "benchstat"
if command -v benchstat >/dev/null; then BENCHSTAT=benchstat
elif [ -x "$HOME/go/bin/benchstat" ]; then BENCHSTAT="$HOME/go/bin/benchstat"
else GOBIN="$tmp/bin" go install golang.org/x/perf/cmd/benchstat@latest; BENCHSTAT="$tmp/bin/benchstat"
fi
cat results/run-*.txt > "$tmp/all.txt"
"$BENCHSTAT" -col /impl "$tmp/all.txt" > results/benchstat.txt 2>&1 || true

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cat > results/header.md <<HEADER
# futures against its peers

Produced by \`bench/run.sh\` (module \`github.com/gofutures/futures/bench\`),
in one run started $started. Do not edit: edit \`bench/notes/\` and run
\`bench/run.sh -report\`.

| machine | |
|---|---|
| CPU | $cpu, $(nproc) cores (GOMAXPROCS $(nproc)) |
| memory | $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) |
| OS | $(uname -sr) |
| Go | $(go version | cut -d' ' -f3-) |
| load average (1, 5, 15 min) | $load_before before, $load_after after; 1-minute load at the start of each run: ${loads[*]}. A shared VM on which other work may run: a load over 2 means other processes took CPU from the benchmarks |

**Command**: \`bench/run.sh\` with COUNT=$COUNT, which runs COUNT times, in turn:

\`\`\`
go test -c -o bench.test .      # in bench/
bench.test -test.run '^\$' -test.bench 'Futures|TaskLoop|Views|Validation' -test.benchtime $BENCHTIME -test.benchmem
bench.test -test.run '^\$' -test.bench 'HTTPClient' -test.benchtime $HTTP_BENCHTIME -test.benchmem
go test -c -o gen.test ./internal/gen    # in the main module
gen.test -test.run '^\$' -test.bench Generator -test.benchtime 3x   # in internal/gen/
\`\`\`

Each figure is the median of the $COUNT runs; each ratio is the median of
the $COUNT ratios measured within a run (the range follows in brackets).
The raw output is in \`results/run-*.txt\`; \`results/benchstat.txt\` has
benchstat's view of the same files (\`benchstat -col /impl\`: confidence
intervals, and each contender against the first, ours).

Peers, as resolved in \`bench/go.mod\`:

| peer | version |
|---|---|
$(go list -m -f '| {{.Path}} | {{.Version}} |' golang.org/x/sync github.com/sourcegraph/conc github.com/reugn/async github.com/alitto/pond/v2 github.com/panjf2000/ants/v2 github.com/danielgtaylor/huma/v2 github.com/go-resty/resty/v2)
HEADER
report
