#!/usr/bin/env bash
# Instructions per echoed message, one runtime against one runtime per
# core (issue: "the user-space instructions per message must stay the
# same as the single-runtime server"):
#
#   bench/threads-callgrind.sh
#
# Three callgrind runs of bench/measure.sh (512 B messages, DURATION, 5,
# seconds of load):
#
# 1. `--threads 1` with CONNS (50) connections;
# 2. `--threads 2` with CONNS connections: each runtime serves about half;
# 3. `--threads 1` with CONNS / 2 connections: what one runtime of run 2
#    sees.
#
# Valgrind runs the server's threads one at a time, so run 2 costs what
# its two runtimes cost in all. The per-message work (the connection
# task's poll, the two syscalls) is the same in every run; what a turn of
# the reactor costs (epoll_wait, the timers, the clock) is shared among
# the events of that turn, so a runtime with fewer connections ready pays
# more of it per message. Run 3 is therefore the like-for-like peer of
# run 2. Writes bench/results/threads-callgrind.txt.
#
# Environment: DURATION, CONNS, RESULTS, NO_BUILD, and those of measure.sh.

source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
half=$((CONNS / 2))
build
out=$RESULTS/threads-callgrind.txt
mkdir -p "$RESULTS"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# measure NAME SERVER CONNS: one callgrind round; prints Ir per message.
measure() {
    RESULTS=$scratch/$1 CONNS=$3 MEASURE_ROUNDS=1 DURATION=$DURATION SERVERS=$2 NO_BUILD=1 \
        "$BENCH_DIR/measure.sh" callgrind >/dev/null 2>&1 ||
        die "callgrind run $1 failed (see bench/measure.sh)"
    awk -F'\t' -v s="$2" '$1 == "callgrind" && $2 == s {
        printf "%.1f\t%d", ($5 - $6) / $4, $4 }' "$scratch/$1/measure.tsv"
}

{
    echo "user-space instructions per echoed 512 B message (callgrind; $DURATION s of load)"
    printf '%-44s %10s %10s\n' run Ir/msg messages
    for run in "1 $CONNS" "2 $CONNS" "1 $half"; do
        read -r threads conns <<<"$run"
        server=ours
        label="--threads 1, $conns connections"
        if ((threads == 2)); then
            server=ours-threads2
            label="--threads 2, $conns connections (about $half each)"
        fi
        IFS=$'\t' read -r ir messages <<<"$(measure "t$threads-c$conns" "$server" "$conns")"
        printf '%-44s %10s %10s\n' "$label" "$ir" "$messages"
    done
} | tee "$out"
echo "wrote $out"
