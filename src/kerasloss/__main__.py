"""`python -m kerasloss` (also the `kerasloss` command): the sub-commands.

`demo` trains every loss family on real data that ships inside scikit-learn and river,
on the backend Keras selects, and writes pictures, `results.json` and `report.html`.
It needs the extra dependencies `pip install "kerasloss[demo]"`; they are imported only
when the demo runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    from kerasloss._demo import cli

    # Docstrings are None under `python -OO`: the texts are written out here.
    parser = argparse.ArgumentParser(
        prog="kerasloss",
        description="kerasloss: loss functions for Keras 3 on TensorFlow, JAX and PyTorch.",
    )
    commands = parser.add_subparsers(dest="command", title="sub-commands", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train every loss family on real data; pictures and an HTML report",
        description=(
            "Trains every loss family on real data (scikit-learn's digits, river's Yeast) "
            "on the backend Keras selects (KERAS_BACKEND), next to a baseline, and writes "
            "the pictures, results.json and report.html under --out. "
            'Needs pip install "kerasloss[demo]".'
        ),
    )
    cli.add_arguments(demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a sub-command; without one, prints the sub-commands."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from kerasloss._demo import cli

    given = list(sys.argv[1:] if argv is None else argv)
    return cli.run(args, ["python", "-m", "kerasloss", *given])


if __name__ == "__main__":
    raise SystemExit(main())
