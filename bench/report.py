#!/usr/bin/env python3
"""Parsing, summaries and the chart for bench/run.sh and bench/measure.sh.

    report.py parse-run SCENARIO ROUND SERVER CPU_NS "U0 S0" "U1 S1" < report
    report.py summarize-run RESULTS CLK_TCK
    report.py summarize-measure RESULTS
    report.py top-functions ANNOTATE_OUTPUT N MESSAGES
    report.py chart RESULTS
    report.py matrix-parse KIND SIZE CONNS CONNS_RUN DEPTH ROUND SERVER CPU_NS STATUS < report
    report.py matrix RESULTS DURATION ROUNDS IN_FLIGHT_CAP [PEERS_NODELAY]

Only the standard library; every figure printed comes from a file the
scripts wrote from a measurement.
"""

import json
import re
import statistics
import sys
from pathlib import Path

SERVERS = ("ours", "tokio")
# The hand-written epoll loop (bench's epoll-echo-server): the floor, shown
# beside the two when it was measured.
FLOOR = "epoll"


def duration_us(text):
    """Microseconds in a Rust `Debug` duration: `38.2µs`, `1.2ms`, `500ns`, `2s`."""
    m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text)
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    scale = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}[m.group(2)]
    return float(m.group(1)) * scale


def parse_client_report(text):
    """The figures of an `echo-client bench` report."""
    m = re.search(r"^(\d+) messages of \d+ B in ([0-9.]+) s: ([0-9.]+) msg/s", text, re.M)
    if not m:
        raise SystemExit(f"report.py: no figures in the client's report:\n{text}")
    lat = re.search(r"^latency: p50 (\S+)\s+p99 (\S+)\s+p999 (\S+)", text, re.M)
    errors = re.search(r"^errors: (\d+)", text, re.M)
    if not lat or not errors or errors.group(1) != "0":
        raise SystemExit(f"report.py: the client reported errors:\n{text}")
    return {
        "messages": int(m.group(1)),
        "seconds": float(m.group(2)),
        "msg_per_s": float(m.group(3)),
        "p50": duration_us(lat.group(1)),
        "p99": duration_us(lat.group(2)),
        "p999": duration_us(lat.group(3)),
    }


def parse_run(args):
    scenario, rnd, server, cpu_ns, ticks0, ticks1 = args
    r = parse_client_report(sys.stdin.read())
    u0, s0 = map(int, ticks0.split())
    u1, s1 = map(int, ticks1.split())
    row = [scenario, rnd, server, r["messages"], r["seconds"], r["msg_per_s"],
           r["p50"], r["p99"], r["p999"], cpu_ns, u1 - u0, s1 - s0]
    print("\t".join(str(x) for x in row))


def spread(values):
    """(max - min) / median, in percent."""
    med = statistics.median(values)
    return 100.0 * (max(values) - min(values)) / med if med else 0.0


def summarize_run(args):
    results, clk_tck = Path(args[0]), int(args[1])
    lines = (results / "run.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    # Derived per-run figures.
    metrics = {
        "msg_per_s": ("throughput", "msg/s", lambda r: float(r["msg_per_s"])),
        "p50": ("latency p50", "us", lambda r: float(r["p50"])),
        "p99": ("latency p99", "us", lambda r: float(r["p99"])),
        "cpu_us_per_msg": ("server CPU per message", "us",
                           lambda r: int(r["cpu_ns"]) / int(r["messages"]) / 1000),
        "user_us_per_msg": ("  of which user", "us",
                            lambda r: int(r["utime_ticks"]) * 1e6 / clk_tck / int(r["messages"])),
        "sys_us_per_msg": ("  of which system", "us",
                           lambda r: int(r["stime_ticks"]) * 1e6 / clk_tck / int(r["messages"])),
    }
    summary = {}
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        out = summary[scenario] = {}
        rounds = sorted({int(r["round"]) for r in rows if r["scenario"] == scenario})
        print(f"\n== {scenario}: {len(rounds)} rounds ==")
        floor = any(r["server"] == FLOOR and r["scenario"] == scenario for r in rows)
        servers = SERVERS + ((FLOOR,) if floor else ())
        print(f"{'figure':<26}{'ours median':>14}{'tokio median':>14}"
              f"{'ours/tokio':>12}{'ours spread':>13}{'tokio spread':>14}"
              + (f"{'epoll median':>14}{'ours/epoll':>12}" if floor else ""))
        for key, (label, unit, get) in metrics.items():
            per = {s: {int(r["round"]): get(r) for r in rows
                       if r["scenario"] == scenario and r["server"] == s} for s in servers}
            ratios = [per["ours"][k] / per["tokio"][k] for k in rounds
                      if k in per["ours"] and k in per["tokio"] and per["tokio"][k]]
            entry = {
                s: {"median": statistics.median(per[s].values()),
                    "min": min(per[s].values()), "max": max(per[s].values()),
                    "spread_pct": spread(list(per[s].values())),
                    "rounds": [per[s][k] for k in sorted(per[s])]}
                for s in servers
            }
            entry["ratio_median"] = statistics.median(ratios)
            entry["ratios"] = ratios
            entry["unit"] = unit
            floor_cols = ""
            if floor:
                floor_ratios = [per["ours"][k] / per[FLOOR][k] for k in rounds
                                if k in per["ours"] and k in per[FLOOR] and per[FLOOR][k]]
                entry["ratio_to_floor_median"] = statistics.median(floor_ratios)
                floor_cols = (f"{entry[FLOOR]['median']:>14.2f}"
                              f"{entry['ratio_to_floor_median']:>12.3f}")
            out[key] = entry
            print(f"{label + ' (' + unit + ')':<26}{entry['ours']['median']:>14.2f}"
                  f"{entry['tokio']['median']:>14.2f}{entry['ratio_median']:>12.3f}"
                  f"{entry['ours']['spread_pct']:>12.1f}%{entry['tokio']['spread_pct']:>13.1f}%"
                  + floor_cols)
        ratios = ", ".join(f"{x:.3f}" for x in out["cpu_us_per_msg"]["ratios"])
        print(f"per-round ratios of CPU per message: {ratios}")
        ratios = ", ".join(f"{x:.3f}" for x in out["msg_per_s"]["ratios"])
        print(f"per-round ratios of throughput:      {ratios}")
    print("\nours/tokio (and ours/epoll) is the median of the per-round ratios; spread is"
          " (max - min) / median.\nepoll is the hand-written epoll loop (epoll-echo-server),"
          " the floor.")
    (results / "run.json").write_text(json.dumps(summary, indent=1))


def parse_strace(path):
    """{syscall: (calls, errors)} from an `strace -c` table."""
    calls = {}
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and re.fullmatch(r"[0-9.]+", fields[0]) and fields[-1] != "total":
            name = fields[-1]
            n = int(fields[3])
            errors = int(fields[4]) if len(fields) == 6 else 0
            calls[name] = (n, errors)
    return calls


# The two kinds of idle connection measure.sh measures, and the section of
# measure.json each goes to.
IDLE_KINDS = {"silent": "memory", "echoed": "memory_echoed"}

SYSCALL_KINDS = {
    "read": ("read", "recvfrom", "recvmsg", "readv"),
    "write": ("write", "sendto", "sendmsg", "writev"),
    "epoll_wait": ("epoll_wait", "epoll_pwait", "epoll_pwait2"),
    "epoll_ctl": ("epoll_ctl",),
}


def summarize_measure(args):
    results = Path(args[0])
    lines = (results / "measure.tsv").read_text().splitlines()
    rows = [line.split("\t") for line in lines]
    summary = {"callgrind": {}, "strace": {}, "memory": {}, "memory_echoed": {}}
    for s in SERVERS + ("ours-noidle", FLOOR):
        # callgrind: kind, server, round, messages, load Ir, baseline Ir
        cg = [r for r in rows if r[0] == "callgrind" and r[1] == s]
        per = [(int(r[4]) - int(r[5])) / int(r[3]) for r in cg]
        if per:
            summary["callgrind"][s] = {
                "instr_per_msg": statistics.median(per), "rounds": per,
                "messages": [int(r[3]) for r in cg], "load_ir": [int(r[4]) for r in cg],
                "baseline_ir": [int(r[5]) for r in cg]}
        # strace: kind, server, round, messages, table file
        st = [r for r in rows if r[0] == "strace" and r[1] == s]
        if st:
            kinds = {}
            for r in st:
                table, messages = parse_strace(results / r[4]), int(r[3])
                counted = set()
                for kind, names in SYSCALL_KINDS.items():
                    n = sum(table.get(x, (0, 0))[0] for x in names)
                    e = sum(table.get(x, (0, 0))[1] for x in names)
                    counted.update(names)
                    kinds.setdefault(kind, []).append(n / messages)
                    kinds.setdefault(kind + " errors", []).append(e / messages)
                other = sum(n for name, (n, _) in table.items() if name not in counted)
                kinds.setdefault("other", []).append(other / messages)
                total = sum(n for n, _ in table.values())
                kinds.setdefault("total", []).append(total / messages)
                names = ", ".join(f"{k} {n}" for k, (n, _) in sorted(table.items()))
                kinds.setdefault("tables", []).append(f"{messages} messages: {names}")
            summary["strace"][s] = {
                k: ({"median": statistics.median(v), "rounds": v} if k != "tables" else v)
                for k, v in kinds.items()}
        # memory: kind, server, round, conns, rss before KiB, rss after KiB,
        # and which idle connections (silent, the default, or echoed)
        for idle, section in IDLE_KINDS.items():
            mem = [r for r in rows if r[0] == "memory" and r[1] == s
                   and (r[6] if len(r) > 6 else "silent") == idle]
            per = [(int(r[5]) - int(r[4])) * 1024 / int(r[3]) for r in mem]
            if per:
                summary[section][s] = {
                    "bytes_per_conn": statistics.median(per), "rounds": per,
                    "rss_before_kib": [int(r[4]) for r in mem],
                    "rss_after_kib": [int(r[5]) for r in mem], "conns": int(mem[0][3])}

    def both(section, get, fmt):
        o = get(summary[section].get("ours")) if summary[section].get("ours") else None
        t = get(summary[section].get("tokio")) if summary[section].get("tokio") else None
        e = get(summary[section].get(FLOOR)) if summary[section].get(FLOOR) else None
        ratio = f"{o / t:.3f}" if o is not None and t else "-"
        show = lambda v: fmt.format(v) if v is not None else "-"
        return f"{show(o):>14}{show(t):>14}{ratio:>12}{show(e):>14}"

    print(f"{'figure':<40}{'ours':>14}{'tokio':>14}{'ours/tokio':>12}{'epoll (floor)':>14}")
    cg = summary["callgrind"]
    if cg:
        print(f"{'user instructions per message':<40}"
              + both("callgrind", lambda x: x["instr_per_msg"], "{:.0f}"))
        if "ours-noidle" in cg and "tokio" in cg:
            o, t = cg["ours-noidle"]["instr_per_msg"], cg["tokio"]["instr_per_msg"]
            print(f"{'  ours with --idle-timeout 0':<40}{o:>14.0f}{t:>14.0f}{o / t:>12.3f}")
        for s in SERVERS + ("ours-noidle", FLOOR):
            if s in cg:
                rs = ", ".join(f"{x:.0f}" for x in cg[s]["rounds"])
                print(f"  {s} rounds: {rs} (messages {cg[s]['messages']})")
    if summary["strace"]:
        for kind in list(SYSCALL_KINDS) + ["read errors", "other", "total"]:
            print(f"{'syscalls per message: ' + kind:<40}"
                  + both("strace", lambda x: x[kind]["median"], "{:.4f}"))
        for s in SERVERS + (FLOOR,):
            for t in summary["strace"].get(s, {}).get("tables", []):
                print(f"  {s}: {t}")
    for section, label in (("memory", "never sent"), ("memory_echoed", "echoed once")):
        mem = summary[section]
        if not mem:
            continue
        conns = next(iter(mem.values()))["conns"]
        print(f"{'RSS per idle connection, ' + label + ' (B)':<40}"
              + both(section, lambda x: x["bytes_per_conn"], "{:.0f}"))
        for s in SERVERS + (FLOOR,):
            if s in mem:
                m = mem[s]
                rs = ", ".join(f"{b} -> {a} KiB" for b, a in zip(m["rss_before_kib"], m["rss_after_kib"]))
                print(f"  {s}: VmRSS with {conns} idle connections ({label}): {rs}")
    (results / "measure.json").write_text(json.dumps(summary, indent=1))


def top_functions(args):
    """The N functions with the most self Ir in `callgrind_annotate` output,
    summed over the source files their inlined code came from, per message."""
    path, n, messages = args[0], int(args[1]), int(args[2])
    totals, total = {}, None
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        ir, rest = int(m.group(1).replace(",", "")), m.group(2)
        if rest.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        rest = re.sub(r" \[[^\]]*\]$", "", rest)
        function = rest.split(":", 1)[1] if ":" in rest else rest
        totals[function] = totals.get(function, 0) + ir
    if total is None:
        raise SystemExit("report.py: no PROGRAM TOTALS in the callgrind_annotate output")
    print(f"{total:,} Ir in all, {messages} messages: {total / messages:.0f} Ir per message "
          "(startup included)")
    print(f"{'Ir':>14} {'%':>6} {'Ir/msg':>8}  function (self cost, inlined callees included)")
    for function, ir in sorted(totals.items(), key=lambda kv: -kv[1])[:n]:
        print(f"{ir:>14,} {100 * ir / total:>5.1f}% {ir / messages:>8.1f}  {function}")


def chart(args):
    """A bar chart of ours / tokio for each figure measured (tokio = 1), with
    the hand-written epoll loop beside them where it was measured."""
    results = Path(args[0])
    bars = []  # (label, ours, tokio, floor or None, unit, lower_is_better)
    if (results / "run.json").exists():
        run = json.loads((results / "run.json").read_text())
        for scenario, figs in run.items():
            conns = scenario.replace("conns", " conns").replace("1conn", "1 conn")
            for key, label, unit, lower in (("msg_per_s", "throughput", "msg/s", False),
                                            ("p99", "p99 latency", "µs", True),
                                            ("cpu_us_per_msg", "server CPU per msg", "µs", True)):
                f = figs[key]
                floor = f[FLOOR]["median"] if FLOOR in f else None
                bars.append((f"{label}, {conns}", f["ours"]["median"], f["tokio"]["median"],
                             floor, unit, lower))
    if (results / "measure.json").exists():
        m = json.loads((results / "measure.json").read_text())
        cg = m.get("callgrind", {})
        get = lambda section, s, f: f(section[s]) if s in section else None
        if "ours" in cg and "tokio" in cg:
            bars.append(("user instructions per msg", cg["ours"]["instr_per_msg"],
                         cg["tokio"]["instr_per_msg"],
                         get(cg, FLOOR, lambda x: x["instr_per_msg"]), "instr", True))
        if "ours-noidle" in cg and "tokio" in cg:
            bars.append(("  same, ours without idle timer", cg["ours-noidle"]["instr_per_msg"],
                         cg["tokio"]["instr_per_msg"], None, "instr", True))
        st = m.get("strace", {})
        if "ours" in st and "tokio" in st:
            bars.append(("syscalls per msg", st["ours"]["total"]["median"],
                         st["tokio"]["total"]["median"],
                         get(st, FLOOR, lambda x: x["total"]["median"]), "calls", True))
        for section, label in (("memory", "RSS per idle conn, never sent"),
                               ("memory_echoed", "RSS per idle conn, echoed once")):
            mem = m.get(section, {})
            if "ours" in mem and "tokio" in mem:
                bars.append((label, mem["ours"]["bytes_per_conn"],
                             mem["tokio"]["bytes_per_conn"],
                             get(mem, FLOOR, lambda x: x["bytes_per_conn"]), "B", True))
    if not bars:
        return
    width, row, left, scale_w = 940, 62, 250, 420
    top = 70
    height = top + row * len(bars) + 40
    biggest = max(max(o, t, f or 0) / t for _, o, t, f, _, _ in bars if t)
    unit_w = scale_w / max(biggest, 1.0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="10" y="22" font-size="16" font-weight="bold">Echo servers: ours vs tokio '
           'current_thread (tokio = 1), and a hand-written epoll loop</text>',
           '<text x="10" y="42" fill="#555">Bars are relative to tokio; the figures are the '
           'medians measured by bench/run.sh and bench/measure.sh.</text>',
           f'<rect x="{left}" y="50" width="12" height="12" fill="#2b7bb9"/>'
           f'<text x="{left + 16}" y="60">ours</text>',
           f'<rect x="{left + 70}" y="50" width="12" height="12" fill="#bbbbbb"/>'
           f'<text x="{left + 86}" y="60">tokio</text>',
           f'<rect x="{left + 140}" y="50" width="12" height="12" fill="#8fbf7f"/>'
           f'<text x="{left + 156}" y="60">hand-written epoll loop (the floor)</text>']
    for i, (label, ours, tokio, floor, unit, lower) in enumerate(bars):
        y = top + i * row
        rel = ours / tokio if tokio else 0
        better = "lower is better" if lower else "higher is better"
        out.append(f'<text x="10" y="{y + 15}">{label}</text>')
        out.append(f'<text x="10" y="{y + 30}" fill="#777" font-size="11">{better}</text>')
        out.append(f'<rect x="{left}" y="{y + 2}" width="{rel * unit_w:.1f}" height="16" fill="#2b7bb9"/>')
        out.append(f'<text x="{left + rel * unit_w + 6:.1f}" y="{y + 15}">{fmt(ours)} {unit} '
                   f'({rel:.2f}×)</text>')
        out.append(f'<rect x="{left}" y="{y + 20}" width="{unit_w:.1f}" height="16" fill="#bbbbbb"/>')
        out.append(f'<text x="{left + unit_w + 6:.1f}" y="{y + 33}" fill="#555">{fmt(tokio)} {unit}</text>')
        if floor is not None:
            frel = floor / tokio if tokio else 0
            out.append(f'<rect x="{left}" y="{y + 38}" width="{frel * unit_w:.1f}" height="12" '
                       f'fill="#8fbf7f"/>')
            out.append(f'<text x="{left + frel * unit_w + 6:.1f}" y="{y + 48}" fill="#555" '
                       f'font-size="11">{fmt(floor)} {unit} ({frel:.2f}×)</text>')
    out.append(f'<line x1="{left + unit_w:.1f}" y1="{top - 4}" x2="{left + unit_w:.1f}" '
               f'y2="{top + row * len(bars)}" stroke="#999" stroke-dasharray="3,3"/>')
    out.append("</svg>")
    (results / "echo.svg").write_text("\n".join(out) + "\n")


def fmt(x):
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def matrix_parse(args):
    """One row of matrix.tsv from an `echo-client bench` report; exits 1 (no
    row) if the run failed: a non-zero exit, errors, or no figures."""
    kind, size, conns, run, depth, rnd, server, cpu_ns, status = args
    text = sys.stdin.read()
    m = re.search(r"^(\d+) messages of \d+ B in ([0-9.]+) s: ([0-9.]+) msg/s", text, re.M)
    lat = re.search(r"^latency: p50 (\S+)\s+p99 (\S+)", text, re.M)
    errors = re.search(r"^errors: (\d+)", text, re.M)
    if (status != "0" or not m or not lat or not errors or errors.group(1) != "0"
            or int(m.group(1)) == 0):
        sys.exit(1)
    row = [kind, size, conns, run, depth, rnd, server, m.group(1), m.group(2), m.group(3),
           duration_us(lat.group(1)), duration_us(lat.group(2)), cpu_ns, errors.group(1)]
    print("\t".join(str(x) for x in row))


def human_size(n):
    """64 B, 4 KiB, 20,000 B, 1 MiB."""
    n = int(n)
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} B"


def ratio_cell(value, bad):
    """A ratio, in bold when it is on the wrong side of its target."""
    if value is None:
        return "-"
    text = f"{value:.2f}"
    return f"**{text}**" if bad(value) else text


def matrix(args):
    """The matrix tables (Markdown, on stdout), matrix.json and matrix.svg."""
    results, duration, rounds, cap = Path(args[0]), args[1], int(args[2]), int(args[3])
    peers_nodelay = len(args) > 4 and args[4] == "1"
    lines = (results / "matrix.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    servers = [s for s in ("ours", "tokio", FLOOR) if any(r["server"] == s for r in rows)]
    # The cells in the order the script ran them.
    cells = list(dict.fromkeys((r["kind"], int(r["size"]), int(r["conns"]), int(r["conns_run"]),
                                int(r["depth"])) for r in rows))
    metrics = {
        "msg_per_s": lambda r: float(r["msg_per_s"]),
        "p50": lambda r: float(r["p50"]),
        "p99": lambda r: float(r["p99"]),
        "cpu_us": lambda r: int(r["cpu_ns"]) / max(int(r["messages"]), 1) / 1000,
    }
    summary = []
    for cell in cells:
        kind, size, conns, run, depth = cell
        mine = [r for r in rows if (r["kind"], int(r["size"]), int(r["conns"]), int(r["conns_run"]),
                                    int(r["depth"])) == cell]
        entry = {"kind": kind, "size": size, "conns": conns, "conns_run": run, "depth": depth}
        for key, get in metrics.items():
            per = {s: {r["round"]: get(r) for r in mine if r["server"] == s} for s in servers}
            entry[key] = {s: statistics.median(v.values()) for s, v in per.items() if v}
            entry[key + "_spread_pct"] = {s: spread(list(v.values())) for s, v in per.items()
                                          if len(v) > 1}
            for other in ("tokio", FLOOR):
                if "ours" in per and other in per:
                    ratios = [per["ours"][k] / per[other][k] for k in per["ours"]
                              if k in per[other] and per[other][k]]
                    if ratios:
                        entry[f"{key}_ours_to_{other}"] = statistics.median(ratios)
        entry["runs"] = {s: len([r for r in mine if r["server"] == s]) for s in servers}
        summary.append(entry)

    memory = []
    mem_path = results / "matrix-memory.tsv"
    if mem_path.exists():
        mlines = mem_path.read_text().splitlines()
        mheader = mlines[0].split("\t")
        for line in mlines[1:]:
            r = dict(zip(mheader, line.split("\t")))
            r["bytes_per_conn"] = (int(r["rss_after_kib"]) - int(r["rss_before_kib"])) * 1024 / int(r["conns"])
            memory.append(r)

    fmt_rate = lambda v: f"{v:,.0f}" if v is not None else "-"
    fmt_us = lambda v: (f"{v / 1000:,.1f} ms" if v >= 10000 else f"{v:,.0f} µs") if v is not None else "-"
    g = lambda e, key, s: e[key].get(s)
    out = []
    out.append(f"Every cell: median of {rounds} interleaved round(s) of {duration} s; server pinned to "
               f"one core, load to the other; every echoed byte verified. Ratios are medians of "
               f"per-round ratios. **Bold**: throughput below 0.97× tokio's, p99 above 1.05× tokio's, "
               f"or CPU per message above tokio's.")
    out.append("")
    if peers_nodelay:
        out.append("tokio's server and the epoll loop ran with TCP_NODELAY, as ours does.")
    else:
        out.append("tokio's server and the epoll loop ran as their examples are, with Nagle's algorithm "
                   "on: a message that spans several writes stalls there for the peer's delayed ACK "
                   "(about 40 ms); ours has TCP_NODELAY. PEERS_NODELAY=1 compares with it set on all.")
    if rounds == 1:
        out.append("")
        out.append("One round: no noise estimate; treat every figure as a single noisy sample.")
    out.append("")
    cols = ["message", "conns", "depth", "run as"]
    cols += [f"{s} msg/s" for s in servers]
    cols += ["ours/tokio msg/s", "p50 ours / tokio", "p99 ours / tokio", "ours/tokio p99",
             "CPU/msg ours / tokio", "ours/tokio CPU"]
    if FLOOR in servers:
        cols += ["ours/epoll msg/s"]
    cols += ["noise (spread) ours / tokio"]
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "|".join(["---"] * 3 + ["---"] + ["---:"] * (len(cols) - 4)) + "|")
    losses = []
    for e in summary:
        if e["kind"] == "churn":
            what = [f"churn, {human_size(e['size'])}", f"{e['conns']} clients", "-", "new connection per message"]
        else:
            run_as = "as asked" if e["conns_run"] == e["conns"] else f"**{e['conns_run']:,} conns** (capped)"
            what = [human_size(e["size"]), f"{e['conns']:,}", str(e["depth"]), run_as]
        thr = e.get("msg_per_s_ours_to_tokio")
        p99 = e.get("p99_ours_to_tokio")
        cpu = e.get("cpu_us_ours_to_tokio")
        cells_out = what + [fmt_rate(g(e, "msg_per_s", s)) for s in servers]
        cells_out += [ratio_cell(thr, lambda v: v < 0.97),
                      f"{fmt_us(g(e, 'p50', 'ours'))} / {fmt_us(g(e, 'p50', 'tokio'))}",
                      f"{fmt_us(g(e, 'p99', 'ours'))} / {fmt_us(g(e, 'p99', 'tokio'))}",
                      ratio_cell(p99, lambda v: v > 1.05),
                      f"{g(e, 'cpu_us', 'ours') or 0:.2f} / {g(e, 'cpu_us', 'tokio') or 0:.2f} µs",
                      ratio_cell(cpu, lambda v: v > 1.0)]
        if FLOOR in servers:
            cells_out.append(ratio_cell(e.get("msg_per_s_ours_to_epoll"), lambda v: False))
        sp = e["msg_per_s_spread_pct"]
        cells_out.append(f"{sp['ours']:.0f} % / {sp['tokio']:.0f} %" if "ours" in sp and "tokio" in sp
                         else "n/a (1 round)")
        out.append("| " + " | ".join(cells_out) + " |")
        bad = [name for name, v, test in (("throughput", thr, lambda v: v < 0.97),
                                          ("p99", p99, lambda v: v > 1.05),
                                          ("CPU per message", cpu, lambda v: v > 1.0))
               if v is not None and test(v)]
        if bad:
            losses.append(f"{what[0]}, {what[1]}, depth {what[2]}: " + ", ".join(
                f"{name} {v:.2f}×" for name, v in (("throughput", thr), ("p99", p99),
                                                    ("CPU per message", cpu))
                if name in bad and v is not None))
    capped = [e for e in summary if e["kind"] == "echo" and e["conns_run"] != e["conns"]]
    if capped:
        out.append("")
        out.append(f"Capped: {len(capped)} cells would put more than {cap:,} bytes in flight "
                   f"(connections × depth × size); each ran with as many connections as fit, "
                   f"shown in \"run as\".")
    if memory:
        out.append("")
        out.append("| idle connections (RSS growth per connection) | " +
                   " | ".join(servers) + " | ours/tokio |")
        out.append("|---|" + "---:|" * (len(servers) + 1))
        for kind, label in (("silent", "never sent"), ("echoed", "echoed once")):
            per = {r["server"]: r["bytes_per_conn"] for r in memory if r["kind"] == kind}
            if not per:
                continue
            conns = next(r["conns"] for r in memory if r["kind"] == kind)
            echo = next(r["echo"] for r in memory if r["kind"] == kind)
            what = f"{int(conns):,} connections, {label}" + (f" ({echo} B)" if kind == "echoed" else "")
            ratio = f"{per['ours'] / per['tokio']:.3f}" if "ours" in per and per.get("tokio") else "-"
            out.append(f"| {what} | " + " | ".join(f"{per[s]:,.0f} B" if s in per else "-"
                                                  for s in servers) + f" | {ratio} |")
    out.append("")
    if losses:
        out.append("Where ours loses to tokio here:")
        out.extend(f"- {line}" for line in losses)
    else:
        out.append("Ours loses to tokio in no cell here.")
    print("\n".join(out))
    (results / "matrix.json").write_text(json.dumps({"cells": summary, "memory": memory}, indent=1))
    matrix_chart(results, summary, memory, rounds, duration)


def matrix_chart(results, summary, memory, rounds, duration):
    """matrix.svg: for each cell, ours/tokio throughput and p99 as bars
    around 1 (tokio), and the epoll loop's throughput as a tick."""
    rows = [e for e in summary if "msg_per_s_ours_to_tokio" in e]
    row_h, left, top, scale_w = 22, 230, 84, 300
    width = left + 2 * scale_w + 140
    height = top + row_h * len(rows) + 30 + 24 * len(memory) // 3 + 40
    lo, hi = 0.0, 2.0
    x = lambda v, base: base + (min(max(v, lo), hi) - lo) / (hi - lo) * scale_w
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="10" y="20" font-size="15" font-weight="bold">Echo servers: ours / tokio '
           'current_thread, every cell of the matrix (tokio = 1)</text>',
           f'<text x="10" y="38" fill="#555">Median of {rounds} round(s) of {duration} s per cell, '
           'pinned; green: within target (throughput ≥ 0.97, p99 ≤ 1.05), red: outside. '
           'Clamped to 0–2.</text>',
           f'<text x="{left}" y="62" font-weight="bold">throughput ours/tokio (higher is better)</text>',
           f'<text x="{left + scale_w + 40}" y="62" font-weight="bold">p99 ours/tokio '
           '(lower is better)</text>',
           f'<text x="{left}" y="76" fill="#555" font-size="11">grey tick: the epoll loop '
           '(the floor)</text>']
    p99_base = left + scale_w + 40
    for base in (left, p99_base):
        one = x(1.0, base)
        out.append(f'<line x1="{one:.1f}" y1="{top - 4}" x2="{one:.1f}" y2="{top + row_h * len(rows)}" '
                   f'stroke="#333" stroke-dasharray="3,3"/>')
        for v in (0.5, 1.5, 2.0):
            out.append(f'<text x="{x(v, base):.1f}" y="{top + row_h * len(rows) + 14}" fill="#777" '
                       f'font-size="10" text-anchor="middle">{v:g}</text>')
    for i, e in enumerate(rows):
        y = top + i * row_h
        label = (f"churn {human_size(e['size'])}, {e['conns']} clients" if e["kind"] == "churn" else
                 f"{human_size(e['size'])}, {e['conns_run']:,} conns, depth {e['depth']}")
        out.append(f'<text x="10" y="{y + 14}">{label}</text>')
        thr = e["msg_per_s_ours_to_tokio"]
        color = "#3a9d4a" if thr >= 0.97 else "#d0453a"
        out.append(f'<rect x="{left}" y="{y + 3}" width="{x(thr, left) - left:.1f}" height="14" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{x(thr, left) + 4:.1f}" y="{y + 14}" font-size="10">{thr:.2f}</text>')
        floor = e["msg_per_s"].get(FLOOR)
        tokio = e["msg_per_s"].get("tokio")
        if floor and tokio:
            fx = x(floor / tokio, left)
            out.append(f'<line x1="{fx:.1f}" y1="{y + 1}" x2="{fx:.1f}" y2="{y + 19}" stroke="#777" '
                       f'stroke-width="2"/>')
        p99 = e.get("p99_ours_to_tokio")
        if p99 is not None:
            color = "#3a9d4a" if p99 <= 1.05 else "#d0453a"
            out.append(f'<rect x="{p99_base}" y="{y + 3}" width="{x(p99, p99_base) - p99_base:.1f}" '
                       f'height="14" fill="{color}"/>')
            out.append(f'<text x="{x(p99, p99_base) + 4:.1f}" y="{y + 14}" font-size="10">'
                       f'{p99:.2f}</text>')
    y = top + row_h * len(rows) + 40
    for kind, label in (("silent", "never sent"), ("echoed", "echoed once")):
        per = {r["server"]: r["bytes_per_conn"] for r in memory if r["kind"] == kind}
        if per:
            text = ", ".join(f"{s} {v:,.0f} B" for s, v in per.items())
            out.append(f'<text x="10" y="{y}">RSS per idle connection, {label}: {text}</text>')
            y += 20
    out.append("</svg>")
    (results / "matrix.svg").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    commands = {"parse-run": parse_run, "summarize-run": summarize_run,
                "summarize-measure": summarize_measure, "top-functions": top_functions,
                "chart": chart, "matrix-parse": matrix_parse, "matrix": matrix}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        raise SystemExit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])
