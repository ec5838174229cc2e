#!/usr/bin/env bash
# Per-message costs of the two echo servers, ours beside tokio's:
#
#   bench/measure.sh [callgrind] [strace] [memory]     (default: all three)
#
# callgrind  user-space instructions per echoed message: each server runs
#            under `valgrind --tool=callgrind` (pinned to core SERVER_CPU)
#            while `echo-client bench --conns CONNS --size 512 --duration
#            DURATION` loads it from core CLIENT_CPU; (Ir of that run - Ir
#            of a run with no load, started and stopped the same way) /
#            messages echoed. Also writes the top functions by Ir of each
#            server under load (results/callgrind-<server>.txt). Ours
#            runs a third time with `--idle-timeout 0` (ours-noidle), to
#            tell the runtime's cost from the idle timer's.
# strace     syscalls per echoed message by kind: `strace -c -f` attached to
#            the running server for the duration of the same load (without
#            valgrind); the `errors` column counts reads that returned
#            EAGAIN.
# memory     RSS growth per idle connection: VmRSS of the server before and
#            after `idle-conns` opens IDLE_CONNS (10,000) connections,
#            divided by IDLE_CONNS; fd limit raised first. Two kinds: the
#            connections send nothing (`silent`), or each echoes IDLE_ECHO
#            (16) bytes once and then goes quiet (`echoed`).
#
# Each measurement runs MEASURE_ROUNDS (3) rounds per server, interleaved;
# the summary gives the median and every round. Writes
# bench/results/measure.tsv, measure.txt, measure.json and echo.svg.
#
# Environment: MEASURE_ROUNDS, DURATION (5), CONNS (50), IDLE_CONNS, IDLE_ECHO,
# SERVERS (which of 'ours tokio ours-noidle epoll ours-threads2' to measure;
# default 'ours tokio ours-noidle epoll'; ours-threads2, ours with
# --threads 2, is measured by callgrind only; epoll is bench's
# hand-written epoll loop, the floor),
# SERVER_CPU, CLIENT_CPU, RESULTS, CARGO_TARGET_DIR.

source "$(dirname "$0")/common.sh"

MEASURE_ROUNDS=${MEASURE_ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_ECHO=${IDLE_ECHO:-16}
SERVERS=${SERVERS:-ours tokio ours-noidle epoll}
parts=("$@")
((${#parts[@]})) || parts=(callgrind strace memory)

command -v taskset >/dev/null || die "taskset is missing (apt-get install util-linux)"
command -v python3 >/dev/null || die "python3 is missing"
for part in "${parts[@]}"; do
    case $part in
        callgrind)
            command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
                die "valgrind is missing: run 'apt-get update && apt-get install -y valgrind'"
            ;;
        strace)
            command -v strace >/dev/null ||
                die "strace is missing: run 'apt-get update && apt-get install -y strace'"
            ;;
        memory) ;;
        *) die "unknown measurement $part (callgrind, strace or memory)" ;;
    esac
done

build
describe_env measure
mkdir -p "$RESULTS"
raw=$RESULTS/measure.tsv
: >"$raw"

# The total Ir of a callgrind output file.
total_ir() {
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# Instructions: a no-load run and a loaded run under callgrind.
measure_callgrind() {
    local server=$1 round=$2 base=$WORK/cg-$1-base.out load=$RESULTS/callgrind-$1.out report
    local valgrind=(taskset -c "$SERVER_CPU" valgrind --tool=callgrind --quiet)
    start_server "$server" 60 "${valgrind[@]}" --callgrind-out-file="$base"
    sleep 1
    stop_server
    start_server "$server" 60 "${valgrind[@]}" --callgrind-out-file="$load"
    report=$(run_load "$CONNS" "$DURATION" taskset -c "$CLIENT_CPU") ||
        die "the load against $server under callgrind failed: $report"
    stop_server
    local messages
    messages=$(messages_of <<<"$report")
    printf 'callgrind\t%s\t%s\t%s\t%s\t%s\n' "$server" "$round" "$messages" \
        "$(total_ir "$load")" "$(total_ir "$base")" >>"$raw"
    echo "callgrind $server round $round: $messages messages," \
        "Ir $(total_ir "$load") under load, $(total_ir "$base") without" >&2
    # Self cost per function (inlined code counts for the function it was
    # inlined into), summed over the source files it came from.
    callgrind_annotate --auto=no --threshold=100 "$load" >"$WORK/annotate.txt"
    python3 "$BENCH_DIR/report.py" top-functions "$WORK/annotate.txt" 25 "$messages" \
        >"$RESULTS/callgrind-$server.txt"
}

# Syscalls: strace -c attached for the duration of the load.
measure_strace() {
    local server=$1 round=$2 table=$RESULTS/strace-$1-$2.txt report tracer
    start_server "$server" 10 taskset -c "$SERVER_CPU"
    timeout $((DURATION + 120)) strace -c -f -p "$SERVER_PID" -o "$table" 2>/dev/null &
    tracer=$!
    STARTED_PIDS+=("$tracer")
    sleep 1 # let strace attach
    report=$(run_load "$CONNS" "$DURATION" taskset -c "$CLIENT_CPU") ||
        die "the load against $server under strace failed: $report"
    kill -INT "$tracer"
    wait "$tracer" || true
    stop_server
    local messages
    messages=$(messages_of <<<"$report")
    printf 'strace\t%s\t%s\t%s\t%s\n' "$server" "$round" "$messages" "${table##*/}" >>"$raw"
    echo "strace $server round $round: $messages messages" >&2
}

# Memory: VmRSS before and after IDLE_CONNS idle connections, of kind $3
# (see idle_memory in common.sh).
measure_memory_kind() {
    local server=$1 round=$2 kind=$3
    idle_memory "$server" "$kind" "$IDLE_CONNS" "$IDLE_ECHO"
    local before=$IDLE_BEFORE after=$IDLE_AFTER
    printf 'memory\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$round" "$IDLE_CONNS" "$before" "$after" \
        "$kind" >>"$raw"
    echo "memory ($kind) $server round $round: VmRSS $before KiB -> $after KiB with $IDLE_CONNS idle connections" >&2
}

# Memory: both kinds of idle connection.
measure_memory() {
    measure_memory_kind "$1" "$2" silent
    measure_memory_kind "$1" "$2" echoed
}

for part in "${parts[@]}"; do
    for ((round = 1; round <= MEASURE_ROUNDS; round++)); do
        if ((round % 2)); then order=(ours tokio); else order=(tokio ours); fi
        # Instructions of ours without its idle timer too: what the
        # runtime itself costs, apart from that feature of the server.
        [[ $part == callgrind ]] && order+=(ours-noidle ours-threads2)
        order+=(epoll)
        for server in "${order[@]}"; do
            [[ " $SERVERS " == *" $server "* ]] || continue
            "measure_$part" "$server" "$round"
        done
    done
done

python3 "$BENCH_DIR/report.py" summarize-measure "$RESULTS" | tee "$RESULTS/measure.txt"
python3 "$BENCH_DIR/report.py" chart "$RESULTS"
echo "wrote $RESULTS/measure.txt, $RESULTS/measure.json, $RESULTS/callgrind-*.txt and $RESULTS/echo.svg"
