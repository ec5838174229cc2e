#!/usr/bin/env bash
# Echo servers under load, ours beside tokio's, pinned, interleaved.
#
#   bench/run.sh [ROUNDS]
#
# Builds release, then for ROUNDS rounds (default 5) runs each server
# (our echo-server, bench's tokio-echo-server, and bench's
# epoll-echo-server, a hand-written epoll loop that shows the floor; which
# goes first rotates) pinned to core SERVER_CPU (0) with `echo-client bench` pinned
# to core CLIENT_CPU (1), in two scenarios: CONNS (50) connections and one
# connection, SIZE (512) B messages, one in flight per connection, for
# DURATION (5) seconds each. Records msg/s, latency percentiles, and the
# server's CPU time (user + system, from /proc) per echoed message.
# Prints each run and the median of the per-round ratios ours/tokio, and
# writes bench/results/latest.txt, run.json and echo.svg.
#
# Environment: ROUNDS, DURATION, CONNS, SIZE, SERVER_CPU, CLIENT_CPU,
# RESULTS (output directory), CARGO_TARGET_DIR.

source "$(dirname "$0")/common.sh"

ROUNDS=${1:-${ROUNDS:-5}}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SIZE=${SIZE:-512}
export SIZE

command -v taskset >/dev/null || die "taskset is missing (apt-get install util-linux)"
command -v python3 >/dev/null || die "python3 is missing"
(($(nproc) >= 2)) || die "needs two cores (server and load on different cores)"

build
describe_env run
mkdir -p "$RESULTS"
raw=$RESULTS/run.tsv
printf 'scenario\tround\tserver\tmessages\tseconds\tmsg_per_s\tp50\tp99\tp999\tcpu_ns\tutime_ticks\tstime_ticks\n' >"$raw"
clk_tck=$(getconf CLK_TCK)

# One run: server $1 in scenario $2 (connections $3) of round $4.
one_run() {
    local server=$1 scenario=$2 conns=$3 round=$4
    start_server "$server" 10 taskset -c "$SERVER_CPU"
    local cpu0 ticks0 cpu1 ticks1 report
    cpu0=$(cpu_ns "$SERVER_PID")
    ticks0=$(cpu_ticks "$SERVER_PID")
    if ! report=$(run_load "$conns" "$DURATION" taskset -c "$CLIENT_CPU"); then
        echo "$report" >&2
        die "the load against $server failed (round $round, $scenario)"
    fi
    cpu1=$(cpu_ns "$SERVER_PID")
    ticks1=$(cpu_ticks "$SERVER_PID")
    stop_server
    python3 "$BENCH_DIR/report.py" parse-run "$scenario" "$round" "$server" \
        "$((cpu1 - cpu0))" "$ticks0" "$ticks1" <<<"$report" >>"$raw"
    tail -n 1 "$raw" | awk -F'\t' -v hz="$clk_tck" '{
        printf "round %s  %-8s %-6s %8.0f msg/s  p99 %7.1f us  server CPU %6.2f us/msg\n",
            $2, $1, $3, $6, $8, $10 / $4 / 1000 }'
}

echo "$ROUNDS rounds; server on core $SERVER_CPU, load on core $CLIENT_CPU; $SIZE B messages, depth 1, $DURATION s per run"
# Which server goes first rotates from round to round.
orders=("ours tokio epoll" "tokio epoll ours" "epoll ours tokio")
for ((round = 1; round <= ROUNDS; round++)); do
    read -ra order <<<"${orders[$(((round - 1) % 3))]}"
    for scenario in "${CONNS}conns" 1conn; do
        conns=${scenario%%conn*}
        for server in "${order[@]}"; do
            one_run "$server" "$scenario" "$conns" "$round"
        done
    done
done

python3 "$BENCH_DIR/report.py" summarize-run "$RESULTS" "$clk_tck" | tee "$RESULTS/latest.txt"
python3 "$BENCH_DIR/report.py" chart "$RESULTS"
echo "wrote $RESULTS/latest.txt, $RESULTS/run.json and $RESULTS/echo.svg"
