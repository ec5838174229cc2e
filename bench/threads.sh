#!/usr/bin/env bash
# echo-server on one runtime versus one runtime per core, both balances.
#
#   bench/threads.sh
#
# Builds release, then runs our echo-server as `--threads 1`,
# `--threads 2 --balance reuseport` and `--threads 2 --balance acceptor`
# under two loads of DURATION (5) seconds each:
#
# * uniform: CONNS (1000) connections, SIZE (512) B messages, one in
#   flight per connection;
# * skewed: the same light connections plus HEAVY (4) heavy ones
#   (HEAVY_SIZE, 64 KiB messages, HEAVY_DEPTH, 8, in flight), from a
#   second client process.
#
# For each run it prints the clients' messages/s and p99 latency, each
# core's connections (from the server's summary line) and each core's busy
# time (its thread's time on a CPU, from /proc/PID/task/TID/schedstat),
# with the ratio max/min of the busy times. The issue's target for the
# default balance is max/min <= 1.2 under the uniform load.
#
# What a two-core machine can and cannot show: the load generator shares
# the two cores with the server (nothing is pinned: the server's cores
# would fight the clients for them), so `--threads 2` cannot be expected to
# double the throughput here; the per-core counts and busy times, and the
# balance between the cores, are what this measures. A scaling table needs
# a machine with more cores than the server uses.
#
# Environment: DURATION, CONNS, SIZE, HEAVY, HEAVY_SIZE, HEAVY_DEPTH,
# RESULTS, CARGO_TARGET_DIR; OURS_BIN, CLIENT_BIN and NO_BUILD=1 as in
# common.sh (a smoke run: NO_BUILD=1 with the debug binaries and
# DURATION=1).

source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-5}
CONNS=${CONNS:-1000}
SIZE=${SIZE:-512}
HEAVY=${HEAVY:-4}
HEAVY_SIZE=${HEAVY_SIZE:-65536}
HEAVY_DEPTH=${HEAVY_DEPTH:-8}

command -v python3 >/dev/null || die "python3 is missing"

build
describe_env threads
# The server and the clients each need a descriptor per connection.
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > CONNS + HEAVY + 100)) || die "the fd limit ($(ulimit -n)) is too low for $CONNS connections"

# start_ours ARGS...: starts our server with ARGS, quiet, on a free
# loopback port; sets SERVER_PID, SERVER_ADDR and SERVER_OUT (its stdout).
start_ours() {
    SERVER_OUT=$(mktemp "$WORK/threads.XXXXXX.out")
    local err=${SERVER_OUT%.out}.err tries=100
    "$OURS_BIN" --quiet --addr 127.0.0.1:0 "$@" >"$SERVER_OUT" 2>"$err" &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    SERVER_ADDR=
    while ((tries-- > 0)); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$SERVER_OUT" | head -n 1)
        [[ -n $SERVER_ADDR ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "echo-server $* exited: $(cat "$err")"
        sleep 0.1
    done
    die "echo-server $* did not say where it listens within 10 s"
}

# Each runtime thread of process $1 and its time on a CPU in ns, one
# "NAME NS" line per thread (the runtimes of a group are `rt-core-N`; a
# single runtime is the main thread). Blocking-pool threads are left out.
thread_times() {
    local task name
    for task in /proc/"$1"/task/*; do
        name=$(cat "$task/comm" 2>/dev/null) || continue
        case $name in
            rt-core-*) ;;
            echo-server) [[ ${task##*/} == "$1" ]] || continue ;;
            *) continue ;;
        esac
        printf '%s %s\n' "$name" "$(awk '{ print $1 }' "$task/schedstat")"
    done
}

# The clients' figures from an `echo-client bench` report on stdin.
client_figures() {
    grep -Ei 'msg/s|p99|errors' | tr -s ' ' | paste -sd ';' -
}

# one_run LABEL SCENARIO SERVER-ARGS...: one server under one load.
one_run() {
    local label=$1 scenario=$2
    shift 2
    start_ours "$@"
    sleep 0.3
    local before after light heavy=''
    before=$(thread_times "$SERVER_PID")
    if [[ $scenario == skewed ]]; then
        timeout $((${DURATION%.*} + 60)) "$CLIENT_BIN" --addr "$SERVER_ADDR" bench \
            --conns "$HEAVY" --size "$HEAVY_SIZE" --depth "$HEAVY_DEPTH" \
            --duration "$DURATION" </dev/null >"$WORK/heavy.out" 2>&1 &
        local heavy_pid=$!
        STARTED_PIDS+=("$heavy_pid")
    fi
    light=$(run_load "$CONNS" "$DURATION") || die "the load failed ($label, $scenario): $light"
    if [[ $scenario == skewed ]]; then
        wait "$heavy_pid" || die "the heavy load failed ($label): $(cat "$WORK/heavy.out")"
        heavy=$(client_figures <"$WORK/heavy.out")
    fi
    after=$(thread_times "$SERVER_PID")
    stop_server
    local summary
    summary=$(grep '^served ' "$SERVER_OUT" || echo "no summary")
    python3 - "$label" "$scenario" "$summary" "$before" "$after" <<'EOF'
import re, sys
label, scenario, summary, before, after = sys.argv[1:6]
def parse(text):
    return {l.split()[0]: int(l.split()[1]) for l in text.splitlines() if l.strip()}
b, a = parse(before), parse(after)
busy = {name: (a[name] - b.get(name, 0)) / 1e6 for name in sorted(a)}
if any(name.startswith("rt-core-") for name in busy):
    busy.pop("echo-server", None)  # the main thread only waits for signals
per_core = re.search(r"\((core .*?)\)", summary)
conns = per_core.group(1) if per_core else re.search(r"served (\d+)", summary).group(0)
times = ", ".join(f"{name}: {ms:.0f} ms" for name, ms in busy.items())
values = [ms for ms in busy.values() if ms > 0]
ratio = f"{max(values) / min(values):.2f}" if len(values) > 1 else "-"
print(f"{label:<22} {scenario:<8} conns [{conns}]  busy [{times}]  max/min {ratio}")
EOF
    echo "    light: $(client_figures <<<"$light")"
    [[ -n $heavy ]] && echo "    heavy: $heavy"
    return 0
}

echo "$DURATION s per run; $CONNS light connections of $SIZE B; skewed adds $HEAVY of $HEAVY_SIZE B x $HEAVY_DEPTH"
for scenario in uniform skewed; do
    one_run "--threads 1" "$scenario" --threads 1
    one_run "--threads 2 reuseport" "$scenario" --threads 2 --balance reuseport
    one_run "--threads 2 acceptor" "$scenario" --threads 2 --balance acceptor
done | tee "$RESULTS/threads.txt"
