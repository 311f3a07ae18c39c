"""The ``clsmap`` command. The only place that configures logging.

User mistakes end with a one-line error and exit status 2; Ctrl-C leaves a resumable store
and exits with 130.
"""

from __future__ import annotations

import logging
import sys
import time

from .._errors import ClsmapError
from .commands import run
from .parser import build_parser

__all__ = ["main", "build_parser"]

logger = logging.getLogger("clsmap")


def _configure_logging(verbose: bool, quiet: bool) -> None:
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = RichHandler(show_path=verbose, show_time=False, rich_tracebacks=False, markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.setLevel(level)
    import warnings

    # transformers and pacmap warn about things the user cannot act on (pacmap: "random state is
    # set", which clsmap does on purpose); show them only with -v
    if not verbose:
        logging.getLogger("pacmap").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    started = time.perf_counter()
    try:
        run(args)
    except (ClsmapError, ValueError) as exc:
        if args.verbose:
            logger.exception("failed")
        print(f"clsmap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        hint = f"; what was written in {out} is kept, and the same command resumes" if out else ""
        print(f"clsmap: interrupted{hint}", file=sys.stderr)
        return 130
    logger.debug("done in %.1f s", time.perf_counter() - started)
    return 0


