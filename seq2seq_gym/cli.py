"""The ``seq2seq-gym`` command line.

Each subcommand lives in a function ``_cmd_<name>`` and registers its own
arguments in :func:`build_parser`; later features add subcommands there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from seq2seq_gym import __version__


def _cmd_info(args: argparse.Namespace) -> int:
    """Print the version and what the installation provides."""
    import platform

    import torch

    print(f"seq2seq_gym {__version__}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"cuda available: {torch.cuda.is_available()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="seq2seq-gym",
        description="Text generation as reinforcement learning: environments, rewards, agents.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_info = sub.add_parser("info", help="print the version and the environment")
    p_info.set_defaults(func=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``seq2seq-gym`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
