#!/usr/bin/env bash
# hyper hello-world on our runtime beside tokio's, pinned, interleaved.
#
#   bench/hyper.sh [ROUNDS]
#
# Builds release, then for ROUNDS rounds (default 5) runs each server (the
# `hyper_hello` example on our runtime, and bench's `tokio-hyper-hello`,
# the same hyper service on tokio's current_thread runtime through
# hyper-util's TokioIo; which goes first alternates) pinned to core
# SERVER_CPU (0), loaded by `wrk` pinned to core CLIENT_CPU (1): one
# thread, CONNS (50) keep-alive connections, `GET /` for DURATION (5)
# seconds. Records requests/s, p99 latency, and the server's CPU time
# (user + system, from /proc) per request. Prints each run and the median
# of each and of the per-round ratios ours/tokio, and writes
# bench/results/hyper.txt and hyper.tsv.
#
# Needs wrk (apt-get install wrk). Environment: ROUNDS, DURATION, CONNS,
# SERVER_CPU, CLIENT_CPU, RESULTS, CARGO_TARGET_DIR.

source "$(dirname "$0")/common.sh"

ROUNDS=${1:-${ROUNDS:-5}}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
OURS_HYPER=$TARGET/examples/hyper_hello
TOKIO_HYPER=$TARGET/tokio-hyper-hello

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
command -v taskset >/dev/null || die "taskset is missing (apt-get install util-linux)"
(($(nproc) >= 2)) || die "needs two cores (server and load on different cores)"

echo "building (release)..." >&2
(cd "$ROOT" && cargo build --release --quiet -p examples --example hyper_hello -p bench --bin tokio-hyper-hello)
describe_env hyper

# start_hyper NAME: starts server NAME (ours or tokio) pinned to
# SERVER_CPU on a free loopback port; sets SERVER_PID and SERVER_ADDR.
start_hyper() {
    local out err
    out=$(mktemp "$WORK/$1.XXXXXX.out")
    err=${out%.out}.err
    case $1 in
        ours) taskset -c "$SERVER_CPU" "$OURS_HYPER" 127.0.0.1:0 >"$out" 2>"$err" & ;;
        tokio) taskset -c "$SERVER_CPU" "$TOKIO_HYPER" --quiet --addr 127.0.0.1:0 >"$out" 2>"$err" & ;;
        *) die "unknown server $1" ;;
    esac
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    local tries=100
    SERVER_ADDR=
    while ((tries-- > 0)); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$out" | head -n 1)
        [[ -n $SERVER_ADDR ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "$1 server exited: $(cat "$err")"
        sleep 0.1
    done
    die "$1 server did not say where it listens"
}

# wrk's latency figure ("1.23ms", "850.00us", "1.01s") in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000000 }
        else { print "nan" } }'
}

raw=$RESULTS/hyper.tsv
printf 'round\tserver\trequests\treq_per_s\tp99_us\tcpu_ns\n' >"$raw"

# One run of server $1 in round $2.
one_run() {
    local server=$1 round=$2 report cpu0 cpu1
    start_hyper "$server"
    # A short warm-up, so that connections and buffers exist.
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s "http://$SERVER_ADDR/" >/dev/null
    cpu0=$(cpu_ns "$SERVER_PID")
    report=$(timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" \
        wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://$SERVER_ADDR/") ||
        die "wrk against $server failed (round $round)"
    cpu1=$(cpu_ns "$SERVER_PID")
    stop_server
    if grep -q 'Non-2xx\|Socket errors' <<<"$report"; then
        echo "$report" >&2
        die "errors against $server (round $round)"
    fi
    local requests rps p99
    requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$report")
    rps=$(sed -n 's/^Requests\/sec: *//p' <<<"$report")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$report")")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$requests" "$rps" "$p99" \
        "$((cpu1 - cpu0))" >>"$raw"
    awk -v r="$round" -v s="$server" -v n="$requests" -v rps="$rps" -v p="$p99" \
        -v c="$((cpu1 - cpu0))" 'BEGIN {
        printf "round %s  %-6s %9.0f req/s  p99 %8.1f us  server CPU %6.2f us/req\n",
            r, s, rps, p, c / n / 1000 }'
}

echo "$ROUNDS rounds; server on core $SERVER_CPU, wrk (1 thread, $CONNS connections) on core $CLIENT_CPU; GET /, $DURATION s per run"
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then order=(ours tokio); else order=(tokio ours); fi
    for server in "${order[@]}"; do
        one_run "$server" "$round"
    done
done

# Medians of each figure, and of the per-round ratios ours/tokio.
python3 - "$raw" <<'PY' | tee "$RESULTS/hyper.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault(r["server"], {})[r["round"]] = r
def fig(r, key):
    if key == "cpu_us": return int(r["cpu_ns"]) / int(r["requests"]) / 1000
    return float(r[key])
print(f"{len(by['ours'])} rounds, median of each (ratio: median of per-round ours/tokio)")
for key, name, unit in [("req_per_s", "requests/s", ""), ("p99_us", "p99", " us"),
                        ("cpu_us", "server CPU per request", " us")]:
    ours = statistics.median(fig(r, key) for r in by["ours"].values())
    tokio = statistics.median(fig(r, key) for r in by["tokio"].values())
    ratio = statistics.median(fig(by["ours"][k], key) / fig(by["tokio"][k], key) for k in by["ours"])
    print(f"{name:24} ours {ours:10.2f}{unit}  tokio {tokio:10.2f}{unit}  ratio {ratio:.3f}")
PY
echo "wrote $RESULTS/hyper.txt and $RESULTS/hyper.tsv"
