"""`make bench`: every benchmark against a freshly started stack, one table of figures and ratios."""

from __future__ import annotations

import argparse
import importlib

from bench.stack import print_table

SCRIPTS = ("bench.api", "bench.pages", "bench.punctuality")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller runs (each script under a minute)")
    args = parser.parse_args()
    rows = []
    for name in SCRIPTS:
        module = importlib.import_module(name)
        rows.extend(module.run(quick=args.quick))
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
