# Shared by bench/run.sh and bench/measure.sh: building, starting and
# stopping the two echo servers, reading a process's CPU time and memory.
# Sourced, not run.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RESULTS=${RESULTS:-$BENCH_DIR/results}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
# Each binary may be given by path instead (say, ours built at another
# commit, to compare two commits with the same load); NO_BUILD=1 skips the
# build.
OURS_BIN=${OURS_BIN:-$TARGET/echo-server}
TOKIO_BIN=${TOKIO_BIN:-$TARGET/tokio-echo-server}
EPOLL_BIN=${EPOLL_BIN:-$TARGET/epoll-echo-server}
CLIENT_BIN=${CLIENT_BIN:-$TARGET/echo-client}
IDLE_BIN=${IDLE_BIN:-$TARGET/idle-conns}
# Cores: the server on one, the load on the other.
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

# A scratch directory, removed on exit; processes we started are killed.
# It lives under RESULTS, not /tmp, which other jobs on a shared machine
# may clean.
mkdir -p "$RESULTS"
WORK=$(mktemp -d "$RESULTS/.work.XXXXXX")
STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# Builds the servers, the client and the helpers in release mode.
build() {
    [[ ${NO_BUILD:-0} == 1 ]] && return 0
    echo "building (release)..." >&2
    (cd "$ROOT" && cargo build --release --quiet -p echo-server -p echo-client -p bench --bins)
}

# The command of server $1, in SERVER_CMD: ours, ours-noidle (ours with
# `--idle-timeout 0`: no idle timer), ours-threads2 (ours with
# `--threads 2`: a runtime per core), tokio, or epoll (the hand-written
# epoll loop, the floor). With PEERS_NODELAY=1, tokio and epoll set
# TCP_NODELAY on accepted connections as ours does (by default they keep
# Nagle on, as their examples do).
server_cmd() {
    local nodelay=()
    [[ ${PEERS_NODELAY:-0} == 1 ]] && nodelay=(--nodelay)
    case $1 in
        ours) SERVER_CMD=("$OURS_BIN") ;;
        ours-noidle) SERVER_CMD=("$OURS_BIN" --idle-timeout 0) ;;
        ours-threads2) SERVER_CMD=("$OURS_BIN" --threads 2) ;;
        tokio) SERVER_CMD=("$TOKIO_BIN" "${nodelay[@]}") ;;
        epoll) SERVER_CMD=("$EPOLL_BIN" "${nodelay[@]}") ;;
        *) die "unknown server $1" ;;
    esac
}

# start_server NAME WAIT_SECS [WRAPPER...]: starts server NAME (see
# server_cmd), quiet, on a free loopback port, under WRAPPER (for example
# `taskset -c 0` or `valgrind ...`), and waits up to WAIT_SECS for its
# `listening on` line. Sets SERVER_PID and SERVER_ADDR. The wrapper must
# exec the server (taskset and valgrind do), so SERVER_PID is the server.
start_server() {
    local name=$1 wait=$2
    shift 2
    server_cmd "$name"
    # A new file each time: a stale `listening on` line must not be read.
    local out err
    out=$(mktemp "$WORK/$name.XXXXXX.out")
    err=${out%.out}.err
    "$@" "${SERVER_CMD[@]}" --quiet --addr 127.0.0.1:0 >"$out" 2>"$err" &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    local tries=$((wait * 10))
    SERVER_ADDR=
    while ((tries-- > 0)); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$out" | head -n 1)
        [[ -n $SERVER_ADDR ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "$name server exited: $(cat "$err")"
        sleep 0.1
    done
    die "$name server did not say where it listens within $wait s"
}

# Stops the server started last (SIGTERM, then SIGKILL after 30 s) and
# waits for it.
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local tries=300
    while kill -0 "$SERVER_PID" 2>/dev/null && ((tries-- > 0)); do
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# run_load CONNS DURATION [WRAPPER...]: runs `echo-client bench` against
# the server, 512-byte messages (SIZE), one in flight per connection, with
# a timeout; prints its report. Fails if the client reports errors.
run_load() {
    local conns=$1 duration=$2
    shift 2
    timeout $((${duration%.*} + 60)) "$@" "$CLIENT_BIN" --addr "$SERVER_ADDR" bench \
        --conns "$conns" --size "${SIZE:-512}" --duration "$duration" --depth 1 </dev/null
}

# idle_memory SERVER KIND CONNS ECHO: starts SERVER pinned to SERVER_CPU,
# has `idle-conns` (pinned to CLIENT_CPU) open CONNS connections that send
# nothing (KIND `silent`) or echo ECHO bytes once each (KIND `echoed`), and
# sets IDLE_BEFORE and IDLE_AFTER to the server's VmRSS in KiB before and
# after. Raises the soft fd limit to the hard one first.
idle_memory() {
    local server=$1 kind=$2 conns=$3 echo=0 before after holder fds0 tries
    [[ $kind == echoed ]] && echo=$4
    # Both the server and the helper need CONNS descriptors and more.
    ulimit -n "$(ulimit -Hn)"
    (($(ulimit -n) > conns + 100)) ||
        die "the fd limit ($(ulimit -n)) is too low for $conns connections"
    start_server "$server" 10 taskset -c "$SERVER_CPU"
    sleep 0.5
    before=$(rss_kib "$SERVER_PID")
    fds0=$(ls /proc/"$SERVER_PID"/fd | wc -l)
    rm -f "$WORK/hold"
    mkfifo "$WORK/hold"
    : >"$WORK/idle.out"
    timeout 300 taskset -c "$CLIENT_CPU" "$IDLE_BIN" --addr "$SERVER_ADDR" --conns "$conns" \
        --echo "$echo" <"$WORK/hold" >"$WORK/idle.out" &
    holder=$!
    STARTED_PIDS+=("$holder")
    exec 3>"$WORK/hold" # keeps the helper's stdin open until closed below
    # Wait until the helper has opened (and echoed on) every connection and
    # the server holds them all (120 s at most).
    tries=1200
    while ! grep -q '^holding' "$WORK/idle.out" ||
        (($(ls /proc/"$SERVER_PID"/fd | wc -l) < fds0 + conns)); do
        ((tries-- > 0)) || die "$server holds only $(($(ls /proc/"$SERVER_PID"/fd | wc -l) - fds0)) connections"
        kill -0 "$holder" 2>/dev/null || die "idle-conns failed against $server"
        sleep 0.1
    done
    sleep 1
    after=$(rss_kib "$SERVER_PID")
    exec 3>&-
    wait "$holder" || true
    rm -f "$WORK/hold"
    stop_server
    IDLE_BEFORE=$before
    IDLE_AFTER=$after
}

# CPU time of process $1 in nanoseconds, summed over its threads (from
# /proc/PID/task/*/schedstat: nanosecond resolution).
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# User and system CPU time of process $1 in clock ticks (fields 14 and 15
# of /proc/PID/stat), as "UTIME STIME".
cpu_ticks() {
    sed 's/.*) //' /proc/"$1"/stat | awk '{ print $12, $13 }'
}

# Resident memory of process $1 in KiB.
rss_kib() {
    awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status
}

# The messages count from an `echo-client bench` report on stdin.
messages_of() {
    sed -n 's/^\([0-9]*\) messages of .*/\1/p' | head -n 1
}

# Writes what was measured on, and with what, to $RESULTS/env-$1.txt.
describe_env() {
    mkdir -p "$RESULTS"
    {
        echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "nproc: $(nproc)"
        lscpu | grep -v '^Flags' | head -n 20
        echo "kernel: $(uname -r)"
        echo "memory: $(awk '/^MemTotal:/ { print $2, $3 }' /proc/meminfo)"
        echo "rustc: $(rustc -V)"
        echo "tokio: $(grep -A1 '^name = "tokio"$' "$ROOT/Cargo.lock" | sed -n 's/version = //p')"
        command -v valgrind >/dev/null && echo "valgrind: $(valgrind --version)"
        command -v strace >/dev/null && echo "strace: $(strace -V | head -n 1)"
        if [[ -n ${BENCH_SOURCE:-} ]]; then
            echo "source: $BENCH_SOURCE"
        else
            echo "git: $(cd "$ROOT" && git rev-parse --short HEAD);" \
                "changed or new: $(cd "$ROOT" && git status --porcelain | awk '{ print $2 }' | tr '\n' ' ')"
        fi
        echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$RESULTS/env-$1.txt" 2>&1
}
