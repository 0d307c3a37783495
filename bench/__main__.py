"""`make bench`: every benchmark, each against its own freshly started stack, then one table with
each figure, its target, the value measured, the reference measured in the same run and the ratio."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from datetime import UTC, datetime

from bench.stack import Row, print_table

SCRIPTS = ("bench.punctuality", "bench.pages", "bench.api")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller runs (each script under a minute)")
    args = parser.parse_args()
    rows: list[Row] = []
    began = time.monotonic()
    load = os.getloadavg()[0]
    for name in SCRIPTS:
        print(f"running {name}{' --quick' if args.quick else ''} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(name).run(quick=args.quick))
    title = (
        f"Punctual benchmarks{' (--quick)' if args.quick else ''}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"load average {load:.1f} at start, {time.monotonic() - began:.0f} s"
    )
    print()
    print_table(rows, title)
    if any(row.ok is False for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
