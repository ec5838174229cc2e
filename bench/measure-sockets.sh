#!/usr/bin/env bash
# User-space instructions per echoed message of the UDP and Unix-stream
# echo servers, ours beside tokio's:
#
#   bench/measure-sockets.sh [udp] [unix]     (default: both)
#
# Each server (ours-socket-echo-server, tokio-socket-echo-server) runs under
# `valgrind --tool=callgrind`, pinned to core SERVER_CPU, twice: once with
# no load (started, left 1 s, stopped) and once while `socket-load` loads
# it from core CLIENT_CPU with CONNS connections (connected UDP sockets or
# Unix-stream connections), one SIZE-byte message in flight each, every
# echo checked, for DURATION seconds. The figure is (Ir of the loaded run -
# Ir of the idle run) / messages echoed, as bench/measure.sh computes it for
# TCP. Also writes the top functions by Ir of each server under load
# (results/callgrind-sockets-<kind>-<server>.txt).
#
# MEASURE_ROUNDS (3) rounds per server, interleaved (ours first in odd
# rounds, tokio first in even ones); the summary gives the median and every
# round. Writes bench/results/measure-sockets.tsv and measure-sockets.txt.
#
# Environment: MEASURE_ROUNDS, DURATION (5), CONNS (50), SIZE (512),
# SERVER_CPU, CLIENT_CPU, RESULTS, CARGO_TARGET_DIR.

source "$(dirname "$0")/common.sh"

MEASURE_ROUNDS=${MEASURE_ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SIZE=${SIZE:-512}
LOAD_BIN=$TARGET/socket-load
kinds=("$@")
((${#kinds[@]})) || kinds=(udp unix)
for kind in "${kinds[@]}"; do
    [[ $kind == udp || $kind == unix ]] || die "unknown socket kind $kind (udp or unix)"
done

command -v taskset >/dev/null || die "taskset is missing (apt-get install util-linux)"
command -v python3 >/dev/null || die "python3 is missing"
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
    die "valgrind is missing: run 'apt-get update && apt-get install -y valgrind'"

build
describe_env measure-sockets
raw=$RESULTS/measure-sockets.tsv
: >"$raw"

# The total Ir of a callgrind output file.
total_ir() {
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# start_socket_server SERVER KIND WAIT_SECS [WRAPPER...]: starts
# SERVER-socket-echo-server (ours or tokio) for KIND (udp on a free
# loopback port, unix on a fresh socket file), quiet, under WRAPPER, and
# waits up to WAIT_SECS for its `listening on` line. Sets SERVER_PID and
# SERVER_ADDR (the address or the path).
start_socket_server() {
    local server=$1 kind=$2 wait=$3
    shift 3
    local out err args
    out=$(mktemp "$WORK/$server-$kind.XXXXXX.out")
    err=${out%.out}.err
    case $kind in
        udp) args=(udp --addr 127.0.0.1:0) ;;
        unix) args=(unix --path "${out%.out}.sock") ;;
    esac
    "$@" "$TARGET/$server-socket-echo-server" "${args[@]}" --quiet >"$out" 2>"$err" &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    local tries=$((wait * 10))
    SERVER_ADDR=
    while ((tries-- > 0)); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$out" | head -n 1)
        [[ -n $SERVER_ADDR ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "$server $kind server exited: $(cat "$err")"
        sleep 0.1
    done
    die "$server $kind server did not say where it listens within $wait s"
}

# Instructions: a no-load run and a loaded run under callgrind.
measure() {
    local kind=$1 server=$2 round=$3
    local base=$WORK/cg-$kind-$server-base.out load=$RESULTS/callgrind-sockets-$kind-$server.out
    local valgrind=(taskset -c "$SERVER_CPU" valgrind --tool=callgrind --quiet)
    start_socket_server "$server" "$kind" 60 "${valgrind[@]}" --callgrind-out-file="$base"
    sleep 1
    stop_server
    start_socket_server "$server" "$kind" 60 "${valgrind[@]}" --callgrind-out-file="$load"
    local report
    report=$(timeout $((${DURATION%.*} + 60)) taskset -c "$CLIENT_CPU" "$LOAD_BIN" "$kind" "$SERVER_ADDR" \
        --conns "$CONNS" --size "$SIZE" --duration "$DURATION" </dev/null) ||
        die "the load against $server ($kind) under callgrind failed: $report"
    stop_server
    local messages lost
    messages=$(sed -n 's/^\([0-9]*\) messages of .*/\1/p' <<<"$report")
    lost=$(sed -n 's/.* \([0-9]*\) lost$/\1/p' <<<"$report")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$server" "$round" "$messages" "$lost" \
        "$(total_ir "$load")" "$(total_ir "$base")" >>"$raw"
    echo "$kind $server round $round: $messages messages ($lost lost)," \
        "Ir $(total_ir "$load") under load, $(total_ir "$base") without" >&2
    callgrind_annotate --auto=no --threshold=100 "$load" >"$WORK/annotate.txt"
    python3 "$BENCH_DIR/report.py" top-functions "$WORK/annotate.txt" 25 "$messages" \
        >"$RESULTS/callgrind-sockets-$kind-$server.txt"
}

for kind in "${kinds[@]}"; do
    for ((round = 1; round <= MEASURE_ROUNDS; round++)); do
        if ((round % 2)); then order=(ours tokio); else order=(tokio ours); fi
        for server in "${order[@]}"; do
            measure "$kind" "$server" "$round"
        done
    done
done

python3 - "$raw" <<'EOF' | tee "$RESULTS/measure-sockets.txt"
import statistics
import sys
from collections import defaultdict

rounds = defaultdict(list)
for line in open(sys.argv[1]):
    kind, server, _round, messages, lost, load, base = line.split("\t")
    rounds[kind, server].append((int(load) - int(base)) / int(messages))
print("user-space instructions per echoed message (callgrind: loaded Ir - idle Ir, / messages)")
for kind in ("udp", "unix"):
    if (kind, "ours") not in rounds:
        continue
    medians = {}
    for server in ("ours", "tokio"):
        per = rounds[kind, server]
        medians[server] = statistics.median(per)
        print(f"{kind:<5} {server:<6} median {medians[server]:8.0f}   rounds "
              + " ".join(f"{x:.0f}" for x in per))
    print(f"{kind:<5} ours/tokio {medians['ours'] / medians['tokio']:.3f}")
EOF
echo "wrote $raw, $RESULTS/measure-sockets.txt and $RESULTS/callgrind-sockets-*.txt"
