#!/usr/bin/env bash
# The guide's six echo servers (runtime/examples/step*.rs) under one load.
#
#   bench/guide.sh [ROUNDS]          QUICK=1 bench/guide.sh   (one short round)
#
# Builds the examples, echo-client and idle-conns in release mode, then for
# ROUNDS rounds (default 3; the order of the six rotates) measures each
# example, pinned to core SERVER_CPU (0) with the load pinned to core
# CLIENT_CPU (1), as bench/run.sh pins:
#
# throughput  `echo-client bench --conns CONNS (50) --size SIZE (512)
#             --depth 1 --duration DURATION (5)`: messages per second, and
#             the server's CPU time (user + system, /proc/PID/stat, 10 ms
#             ticks) per echoed message.
# syscalls    the same load again with `strace -c -f` attached to the
#             server: system calls per echoed message, in all and the most
#             frequent kinds, and how many returned an error (EAGAIN, for
#             these servers). strace slows every syscall down, so this run's
#             throughput is not reported; for the busy poller the count of
#             empty polls per message depends on that speed.
# idle        `idle-conns` opens IDLE_CONNS (1,000) connections that send
#             nothing; once the server holds them all, its CPU time over
#             IDLE_SECONDS (5) seconds as a percentage of one core, and
#             the time it was runnable (on a CPU, or waiting for one: what
#             it would have used on an idle machine), from
#             /proc/PID/task/*/schedstat in ns.
#
# Every echoed byte is checked by echo-client. Prints the Markdown table
# (medians over the rounds) and writes it to RESULTS/guide.md, with the
# raw figures in guide.tsv and the machine in env-guide.txt.
#
# Environment: ROUNDS, QUICK, DURATION, CONNS, SIZE, IDLE_CONNS,
# IDLE_SECONDS, STEPS (which examples, default all six), SERVER_CPU,
# CLIENT_CPU, RESULTS, CARGO_TARGET_DIR, NO_BUILD.

source "$(dirname "$0")/common.sh"

if [[ ${QUICK:-0} == 1 ]]; then
    ROUNDS=${1:-${ROUNDS:-1}}
    DURATION=${DURATION:-2}
    IDLE_SECONDS=${IDLE_SECONDS:-2}
fi
ROUNDS=${1:-${ROUNDS:-3}}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SIZE=${SIZE:-512}
IDLE_CONNS=${IDLE_CONNS:-1000}
IDLE_SECONDS=${IDLE_SECONDS:-5}
STEPS=${STEPS:-step1-blocking step2-busy-poll step3-poll step4-epoll-level step5-epoll-edge step6-runtime}
export SIZE

# Every input bounded, and said so when it is not.
in_range() { # NAME VALUE MIN MAX
    [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3 && $2 <= $4)) || die "$1 must be a whole number from $3 to $4, not '$2'"
}
in_range ROUNDS "$ROUNDS" 1 20
in_range DURATION "$DURATION" 1 600
in_range CONNS "$CONNS" 1 10000
in_range SIZE "$SIZE" 1 1048576
in_range IDLE_CONNS "$IDLE_CONNS" 1 10000
in_range IDLE_SECONDS "$IDLE_SECONDS" 1 600

missing=()
command -v taskset >/dev/null || missing+=("taskset (apt-get install -y util-linux)")
command -v strace >/dev/null || missing+=("strace (apt-get update && apt-get install -y strace)")
command -v python3 >/dev/null || missing+=("python3")
((${#missing[@]} == 0)) || die "missing: ${missing[*]}"
(($(nproc) >= 2)) || die "needs two cores (server and load on different cores)"

# The examples instead of common.sh's servers: start_server NAME runs
# target/release/examples/NAME --quiet --addr 127.0.0.1:0.
server_cmd() {
    SERVER_CMD=("$TARGET/examples/$1")
    [[ -x ${SERVER_CMD[0]} ]] || die "no example $1 in $TARGET/examples (build first, or check STEPS)"
}

if [[ ${NO_BUILD:-0} != 1 ]]; then
    echo "building (release)..." >&2
    (cd "$ROOT" && cargo build --release --quiet -p runtime --examples &&
        cargo build --release --quiet -p echo-client -p bench --bin echo-client --bin idle-conns)
fi
describe_env guide
mkdir -p "$RESULTS"
raw=$RESULTS/guide.tsv
CLK_TCK=$(getconf CLK_TCK)
printf 'round\tstep\tkind\tvalue\tdetail\n' >"$raw"

# Throughput and CPU per message of example $1 in round $2. The CPU time
# comes from /proc/PID/stat (clock ticks), which also counts threads that
# have exited: step 1's end as the load closes its connections.
measure_load() {
    local step=$1 round=$2 ticks0 ticks1 report messages rate cpu
    start_server "$step" 10 taskset -c "$SERVER_CPU"
    ticks0=$(cpu_ticks "$SERVER_PID" | awk '{ print $1 + $2 }')
    report=$(run_load "$CONNS" "$DURATION" taskset -c "$CLIENT_CPU") ||
        die "the load against $step failed (round $round): $report"
    sleep 0.2 # let step 1's threads see their connections close
    ticks1=$(cpu_ticks "$SERVER_PID" | awk '{ print $1 + $2 }')
    stop_server
    messages=$(messages_of <<<"$report")
    ((messages > 0)) || die "$step echoed nothing (round $round): $report"
    rate=$(sed -n 's/.* \([0-9]*\) msg\/s.*/\1/p' <<<"$report" | head -n 1)
    cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$CLK_TCK" -v m="$messages" \
        'BEGIN { printf "%.0f", t / hz * 1e9 / m }')
    printf '%s\t%s\tmsg_per_s\t%s\t\n' "$round" "$step" "$rate" >>"$raw"
    printf '%s\t%s\tcpu_ns_per_msg\t%s\t\n' "$round" "$step" "$cpu" >>"$raw"
    echo "round $round  $step: $rate msg/s, server CPU $cpu ns/msg" >&2
}

# System calls per message of example $1 in round $2, under strace -c -f.
measure_syscalls() {
    local step=$1 round=$2 table=$WORK/strace-$1-$2.txt report tracer messages summary
    start_server "$step" 10 taskset -c "$SERVER_CPU"
    timeout $((DURATION + 120)) strace -c -f -p "$SERVER_PID" -o "$table" 2>/dev/null &
    tracer=$!
    STARTED_PIDS+=("$tracer")
    sleep 1 # let strace attach to every thread
    report=$(run_load "$CONNS" "$DURATION" taskset -c "$CLIENT_CPU") ||
        die "the load against $step under strace failed (round $round): $report"
    kill -INT "$tracer"
    wait "$tracer" || true
    stop_server
    messages=$(messages_of <<<"$report")
    ((messages > 0)) || die "$step echoed nothing under strace (round $round): $report"
    # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    summary=$(awk -v m="$messages" '
        $1 ~ /^[0-9.]+$/ && $NF != "total" {
            errors = (NF == 6) ? $5 : 0
            printf "%s %.6f %.6f\n", $NF, $4 / m, errors / m
        }' "$table" | sort -k2,2 -g -r)
    [[ -n $summary ]] || die "strace counted nothing for $step: $(cat "$table")"
    awk -v r="$round" -v s="$step" '{ printf "%s\t%s\tsyscall\t%s\t%s %s\n", r, s, $2, $1, $3 }' \
        <<<"$summary" >>"$raw"
    echo "round $round  $step: $(awk '{ n += $2 } END { printf "%.2f", n }' <<<"$summary") syscalls/msg under strace" >&2
}

# Server CPU while IDLE_CONNS connections sit idle, example $1, round $2.
measure_idle() {
    local step=$1 round=$2 holder fds0 tries cpu0 cpu1 wait0 wait1 t0 t1
    ulimit -n "$(ulimit -Hn)"
    (($(ulimit -n) > IDLE_CONNS + 100)) ||
        die "the fd limit ($(ulimit -n)) is too low for $IDLE_CONNS connections"
    start_server "$step" 10 taskset -c "$SERVER_CPU"
    fds0=$(ls /proc/"$SERVER_PID"/fd | wc -l)
    rm -f "$WORK/hold"
    mkfifo "$WORK/hold"
    : >"$WORK/idle.out"
    timeout $((IDLE_SECONDS + 300)) taskset -c "$CLIENT_CPU" "$IDLE_BIN" --addr "$SERVER_ADDR" \
        --conns "$IDLE_CONNS" <"$WORK/hold" >"$WORK/idle.out" &
    holder=$!
    STARTED_PIDS+=("$holder")
    exec 3>"$WORK/hold" # holds the connections open until closed below
    tries=1200
    while ! grep -q '^holding' "$WORK/idle.out" ||
        (($(ls /proc/"$SERVER_PID"/fd | wc -l) < fds0 + IDLE_CONNS)); do
        ((tries-- > 0)) || die "$step holds only $(($(ls /proc/"$SERVER_PID"/fd | wc -l) - fds0)) connections"
        kill -0 "$holder" 2>/dev/null || die "idle-conns failed against $step"
        sleep 0.1
    done
    sleep 0.5 # let the last accepts settle
    read -r cpu0 wait0 t0 < <(sched_ns "$SERVER_PID")
    sleep "$IDLE_SECONDS"
    read -r cpu1 wait1 t1 < <(sched_ns "$SERVER_PID")
    exec 3>&-
    wait "$holder" || true
    rm -f "$WORK/hold"
    stop_server
    local used wanted
    used=$(awk -v d=$((cpu1 - cpu0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", d / t * 100 }')
    wanted=$(awk -v d=$((cpu1 - cpu0 + wait1 - wait0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", d / t * 100 }')
    printf '%s\t%s\tidle_cpu_percent\t%s\t\n' "$round" "$step" "$used" >>"$raw"
    printf '%s\t%s\tidle_wanted_percent\t%s\t\n' "$round" "$step" "$wanted" >>"$raw"
    echo "round $round  $step: $used % of a core (runnable $wanted %) with $IDLE_CONNS idle connections" >&2
}

# "CPU_NS WAIT_NS NOW_NS" of process $1: time its threads ran, and time they
# were runnable but waited for a CPU (fields 1 and 2 of
# /proc/PID/task/*/schedstat), and the clock.
sched_ns() {
    cat /proc/"$1"/task/*/schedstat | awk -v now="$(date +%s%N)" \
        '{ c += $1; w += $2 } END { printf "%.0f %.0f %s\n", c, w, now }'
}

read -ra steps <<<"$STEPS"
echo "$ROUNDS round(s); server on core $SERVER_CPU, load on core $CLIENT_CPU;" \
    "$CONNS connections, $SIZE B messages, depth 1, $DURATION s per run;" \
    "$IDLE_CONNS idle connections for $IDLE_SECONDS s" >&2
for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order, so that no step always runs first or last.
    shift_by=$(((round - 1) % ${#steps[@]}))
    order=("${steps[@]:shift_by}" "${steps[@]:0:shift_by}")
    for step in "${order[@]}"; do
        measure_load "$step" "$round"
        measure_syscalls "$step" "$round"
        measure_idle "$step" "$round"
    done
done

# The table: medians over the rounds.
python3 - "$raw" "$RESULTS/env-guide.txt" "$ROUNDS" "$DURATION" "$CONNS" "$SIZE" \
    "$IDLE_CONNS" "$IDLE_SECONDS" "$STEPS" <<'EOF' | tee "$RESULTS/guide.md"
import collections, statistics, sys

raw, env, rounds, duration, conns, size, idle_conns, idle_secs, steps = sys.argv[1:]
values = collections.defaultdict(list)  # (step, kind) -> one value per round
# step -> round -> syscall -> (calls, errors) per message
syscalls = collections.defaultdict(lambda: collections.defaultdict(dict))
with open(raw) as f:
    next(f)
    for line in f:
        rnd, step, kind, value, detail = line.rstrip("\n").split("\t")
        if kind == "syscall":
            name, err = detail.split()
            syscalls[step][rnd][name] = (float(value), float(err))
        else:
            values[(step, kind)].append(float(value))

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def summed(step, which):
    # Per round, the sum over syscall kinds; then the median of the rounds.
    return med([sum(c[which] for c in by_name.values()) for by_name in syscalls[step].values()])

def per_kind(step):
    names = {name for by_name in syscalls[step].values() for name in by_name}
    rounds_of = list(syscalls[step].values())
    return sorted(((med([r.get(n, (0, 0))[0] for r in rounds_of]), n) for n in names), reverse=True)

env_lines = dict(l.split(": ", 1) for l in open(env).read().splitlines() if ": " in l)
print(f"| step | msg/s | server CPU per msg | syscalls per msg | most frequent (per msg) | of which failed (EAGAIN) | CPU with {int(idle_conns):,} idle conns (runnable) |")
print("|---|---:|---:|---:|---|---:|---:|")
for step in steps.split():
    rate = med(values[(step, "msg_per_s")])
    cpu = med(values[(step, "cpu_ns_per_msg")]) / 1000
    shown = ", ".join(f"`{name}` {x:.2f}" for x, name in per_kind(step)[:4] if x >= 0.005)
    idle = med(values[(step, "idle_cpu_percent")])
    wanted = med(values[(step, "idle_wanted_percent")])
    print(f"| `{step}` | {rate:,.0f} | {cpu:.1f} µs | {summed(step, 0):.2f} | {shown} "
          f"| {summed(step, 1):.2f} | {idle:.2f} % ({wanted:.2f} %) |")
print()
print(f"{rounds} round(s), median; {conns} connections, {size} B messages, one in flight each, "
      f"{duration} s per run; server pinned to one core, `echo-client bench` to the other; "
      f"syscalls from `strace -c -f` in a separate run of the same load; idle CPU over {idle_secs} s, "
      f"as % of one core, and in brackets the time the server was runnable (on a CPU or waiting for one). "
      f"{env_lines.get('date', '?')}, {env_lines.get('Model name', '?').strip()}, "
      f"{env_lines.get('nproc', '?')} CPUs, Linux {env_lines.get('kernel', '?')}, {env_lines.get('rustc', '?')}, "
      f"git {env_lines.get('git', '?').split(';')[0]}, load average before the run {env_lines.get('load average', '?')}.")
EOF
echo "wrote $RESULTS/guide.md, $RESULTS/guide.tsv and $RESULTS/env-guide.txt" >&2
