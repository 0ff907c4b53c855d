"""The ``orderkit`` command line: ``orderkit demo`` and ``orderkit machine``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["main"]


def _version() -> str:
    try:
        return version("orderkit")
    except PackageNotFoundError:  # running from a source tree without an install
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orderkit", description="orderkit: the order side of a shop."
    )
    parser.add_argument("--version", action="version", version=f"orderkit {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run a small shop on SQLite and print what happened")
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path("orderkit-demo"),
        help="folder for the shop database (default: ./orderkit-demo); reused on later runs",
    )
    commands.add_parser(
        "machine", help="print the default order status machine as a Mermaid diagram"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from orderkit.demo import run_demo

        return run_demo(args.dir, sys.stdout)
    if args.command == "machine":
        from orderkit.domain.lifecycle import default_order_machine

        sys.stdout.write(default_order_machine().to_mermaid())
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
