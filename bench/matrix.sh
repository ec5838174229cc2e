#!/usr/bin/env bash
# The benchmark matrix: our echo server, tokio's current_thread echo server
# (bench's tokio-echo-server) and the hand-written epoll loop (bench's
# epoll-echo-server, the floor), side by side, over what users send:
#
#   bench/matrix.sh             full: ROUNDS (3) rounds, DURATION (5) s per run
#   QUICK=1 bench/matrix.sh     one round of 1 s per run: proves the script
#                               works; its figures are noisy
#
# Cells: every message size in SIZES (64 B, 512 B, 4 KiB, 20,000 B, 64 KiB,
# 1 MiB) × connections in CONNS_LIST (1, 50, 1,000, 10,000) × messages in
# flight per connection in DEPTHS (1, 16); connection churn (CHURN_CLIENTS,
# 16, clients each connecting, echoing CHURN_SIZE, 64, bytes and closing,
# over and over); and idle memory, for IDLE_CONNS (10,000; 2,000 with
# QUICK) connections that never sent and for as many that echoed IDLE_ECHO
# (16) bytes once.
#
# Each run starts a fresh server pinned to core SERVER_CPU (0) and loads it
# with `echo-client bench` pinned to core CLIENT_CPU (1), which verifies
# every echoed byte (a run with errors is recorded as failed, and the
# script exits non-zero at the end). Rounds interleave the servers, and the
# order rotates from cell to cell and round to round. Per cell: msg/s, p50
# and p99 latency (from the client), the server's CPU time (user + system,
# /proc) per message, the ratios ours/tokio (median of per-round ratios)
# and each server's spread across rounds (the noise).
#
# A cell whose bytes in flight (connections × depth × size) exceed
# IN_FLIGHT_CAP (256 MiB) runs with fewer connections, as many as fit;
# the table says so ("run as"). Every cell appears in the table.
#
# Writes bench/results/matrix.tsv (every run), matrix-memory.tsv, matrix.md
# (the tables),
# matrix.json and matrix.svg (the chart), and env-matrix.txt (the machine).
#
# tokio's server and the epoll loop keep Nagle's algorithm on, as their
# examples do, so messages that span several writes stall on them (about
# 40 ms each); PEERS_NODELAY=1 runs them with TCP_NODELAY, as ours is, to
# compare the runtimes rather than that setting.
#
# Environment: QUICK, PEERS_NODELAY, ROUNDS, DURATION, SIZES, CONNS_LIST, DEPTHS,
# IN_FLIGHT_CAP, CHURN_CLIENTS, CHURN_SIZE, IDLE_CONNS, IDLE_ECHO, SERVERS
# (default 'ours tokio epoll'), SERVER_CPU, CLIENT_CPU, RESULTS,
# CARGO_TARGET_DIR, NO_BUILD, and the binaries' paths (see common.sh).

source "$(dirname "$0")/common.sh"

if [[ ${QUICK:-0} == 1 ]]; then
    ROUNDS=${ROUNDS:-1}
    DURATION=${DURATION:-1}
    IDLE_CONNS=${IDLE_CONNS:-2000}
else
    ROUNDS=${ROUNDS:-3}
    DURATION=${DURATION:-5}
    IDLE_CONNS=${IDLE_CONNS:-10000}
fi
SIZES=${SIZES:-64 512 4096 20000 65536 1048576}
CONNS_LIST=${CONNS_LIST:-1 50 1000 10000}
DEPTHS=${DEPTHS:-1 16}
IN_FLIGHT_CAP=${IN_FLIGHT_CAP:-$((256 << 20))}
CHURN_CLIENTS=${CHURN_CLIENTS:-16}
CHURN_SIZE=${CHURN_SIZE:-64}
IDLE_ECHO=${IDLE_ECHO:-16}
read -ra servers <<<"${SERVERS:-ours tokio epoll}"

command -v taskset >/dev/null || die "taskset is missing (apt-get install util-linux)"
command -v python3 >/dev/null || die "python3 is missing"
(($(nproc) >= 2)) || die "needs two cores (server and load on different cores)"

# The load and each server hold up to the largest connection count of
# descriptors, and more.
ulimit -n "$(ulimit -Hn)"
max_conns=0
for conns in $CONNS_LIST $CHURN_CLIENTS $IDLE_CONNS; do
    ((conns > max_conns)) && max_conns=$conns
done
(($(ulimit -n) > max_conns + 100)) ||
    die "the fd limit ($(ulimit -n), hard limit included) is too low for $max_conns connections"

build
describe_env matrix
raw=$RESULTS/matrix.tsv
printf 'kind\tsize\tconns\tconns_run\tdepth\tround\tserver\tmessages\tseconds\tmsg_per_s\tp50\tp99\tcpu_ns\terrors\n' >"$raw"

# The cells, as "KIND SIZE CONNS CONNS_RUN DEPTH".
cells=()
for size in $SIZES; do
    for conns in $CONNS_LIST; do
        for depth in $DEPTHS; do
            run=$conns
            if ((conns * depth * size > IN_FLIGHT_CAP)); then
                run=$((IN_FLIGHT_CAP / (depth * size)))
                ((run >= 1)) || run=1
            fi
            cells+=("echo $size $conns $run $depth")
        done
    done
done
cells+=("churn $CHURN_SIZE $CHURN_CLIENTS $CHURN_CLIENTS 1")

failed=0
# One run: cell $1 (a string as above), round $2, server $3.
one_run() {
    local kind size conns run depth round=$2 server=$3 churn=() report cpu0 cpu1 status=0
    read -r kind size conns run depth <<<"$1"
    [[ $kind == churn ]] && churn=(--churn)
    start_server "$server" 10 taskset -c "$SERVER_CPU"
    cpu0=$(cpu_ns "$SERVER_PID")
    report=$(timeout $((${DURATION%.*} + 180)) taskset -c "$CLIENT_CPU" "$CLIENT_BIN" \
        --addr "$SERVER_ADDR" bench --conns "$run" --size "$size" --depth "$depth" \
        --duration "$DURATION" "${churn[@]}" </dev/null 2>&1) || status=$?
    cpu1=$(cpu_ns "$SERVER_PID")
    stop_server
    if ! python3 "$BENCH_DIR/report.py" matrix-parse "$kind" "$size" "$conns" "$run" "$depth" \
        "$round" "$server" "$((cpu1 - cpu0))" "$status" <<<"$report" >>"$raw"; then
        failed=$((failed + 1))
        echo "FAILED: $server, $kind $size B, $run conns, depth $depth (exit $status):" >&2
        sed 's/^/    /' <<<"$report" | head -n 15 >&2
        return 0
    fi
    tail -n 1 "$raw" | awk -F'\t' '{
        printf "round %s  %-5s %7s B  %5s conns  depth %2s  %-5s %9.0f msg/s  p99 %9.1f us  CPU %7.2f us/msg\n",
            $6, $1, $2, $4, $5, $7, $10, $12, ($8 > 0 ? $13 / $8 / 1000 : 0) }'
}

runs=$((${#cells[@]} * ${#servers[@]} * ROUNDS))
echo "matrix: ${#cells[@]} cells x ${#servers[@]} servers x $ROUNDS rounds = $runs runs of $DURATION s;" \
    "server on core $SERVER_CPU, load on core $CLIENT_CPU; in flight capped at $IN_FLIGHT_CAP B" >&2
for ((round = 1; round <= ROUNDS; round++)); do
    for i in "${!cells[@]}"; do
        # Rotate which server goes first, from cell to cell and round to round.
        shift_by=$(((i + round) % ${#servers[@]}))
        order=("${servers[@]:shift_by}" "${servers[@]:0:shift_by}")
        for server in "${order[@]}"; do
            one_run "${cells[$i]}" "$round" "$server"
        done
    done
done

# Idle memory: one round of each kind per server (the figures repeat to
# within a few bytes per connection).
memory=$RESULTS/matrix-memory.tsv
printf 'kind\tserver\tconns\techo\trss_before_kib\trss_after_kib\n' >"$memory"
for kind in silent echoed; do
    for server in "${servers[@]}"; do
        idle_memory "$server" "$kind" "$IDLE_CONNS" "$IDLE_ECHO"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$server" "$IDLE_CONNS" "$IDLE_ECHO" \
            "$IDLE_BEFORE" "$IDLE_AFTER" >>"$memory"
        echo "memory ($kind) $server: VmRSS $IDLE_BEFORE KiB -> $IDLE_AFTER KiB with $IDLE_CONNS connections" >&2
    done
done

python3 "$BENCH_DIR/report.py" matrix "$RESULTS" "$DURATION" "$ROUNDS" "$IN_FLIGHT_CAP" \
    "${PEERS_NODELAY:-0}" |
    tee "$RESULTS/matrix.md"
echo "wrote $RESULTS/matrix.tsv, matrix-memory.tsv, matrix.md, matrix.json and matrix.svg" >&2
((failed == 0)) || die "$failed runs failed (see above)"
