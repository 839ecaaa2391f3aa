"""Markdown tables from bench/bookings.py's JSON, for docs/benchmarks.md.

    .venv/bin/python bench/report.py bench/results/postgresql.json [--plans]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HTTP_ROWS = [
    ("week_c1", "Week availability page (HTML), 1 connection"),
    ("week_c4", "Week availability page (HTML), 4 connections"),
    ("week_json_c1", "Week availability (JSON), 1 connection"),
    ("week_json_c4", "Week availability (JSON), 4 connections"),
    ("book_c1", "Booking request POST, 1 connection"),
    ("book_c4", "Booking request POST, 4 connections"),
    ("hello_c1", "Flask hello world, 1 connection"),
    ("hello_c4", "Flask hello world, 4 connections"),
]


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def tables(report: dict) -> str:
    sizes = report["sizes"]
    heads = " | ".join(_size(s["bookings"]) for s in sizes)
    out = [f"| in-process (median / min / CPU median, ms) | {heads} |", "|---|" + "---|" * len(sizes)]
    for path, label in (("week_availability", "`week_availability` (one instrument, one week)"),
                        ("request_booking", "`services.request_booking` (new free slot)")):
        cells = [f"{s['in_process'][path]['median_ms']:.2f} / {s['in_process'][path]['min_ms']:.2f} / "
                 f"{s['in_process'][path].get('cpu_median_ms', float('nan')):.2f}" for s in sizes]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    if all("http" in s for s in sizes):
        out += [f"| over HTTP (requests/s · p50 · p99 ms) | {heads} |", "|---|" + "---|" * len(sizes)]
        for key, label in HTTP_ROWS:
            cells = []
            for s in sizes:
                r = s["http"][key]
                statuses = ", ".join(f"{n}×{code}" for code, n in sorted(r.get("statuses", {}).items()))
                cells.append(f"{r['rps']:.0f} · {r['p50_ms']:.2f} · {r['p99_ms']:.1f} ({statuses})")
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Targets, largest size against smallest: " + ", ".join(
        f"{k} = {v}" for k, v in report.get("verdict", {}).items()))
    return "\n".join(out)


def plans(report: dict) -> str:
    out = []
    size = report["sizes"][-1]
    for plan in size["plans"]:
        out += [f"**{plan['path']}** — `{plan['sql'][:160]}…`", "```", plan["plan"], "```", ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("json", type=Path)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    report = json.loads(args.json.read_text())
    m = report["machine"]
    print(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}, "
          f"load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}; "
          f"database {report['database']}; started {report['started']}.\n")
    print(tables(report))
    if args.plans:
        print()
        print(plans(report))


if __name__ == "__main__":
    main()
