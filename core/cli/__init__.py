"""The ``nlsn`` command line: ``upscale``, ``eval``, ``train`` and ``average``, thin over ``core``.

Contract: progress goes to stderr, results to stdout; every user-facing failure is one line
(``nlsn: error: ...``) and a non-zero exit, never a traceback (set ``NLSN_DEBUG=1`` to see one);
outputs are written atomically, so a failed or interrupted run leaves no partial file.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Sequence

from core.base.errors import NLSNError
from core.cli.parser import build_parser

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, name = args.run
    try:
        return getattr(importlib.import_module(module), name)(args)
    except NLSNError as err:
        print(f"nlsn: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnlsn: interrupted; files already written are complete, nothing is half-written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("nlsn: error: out of memory; try a smaller image or --device cpu", file=sys.stderr)
        return EXIT_FAILED
    except Exception as err:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("NLSN_DEBUG"):
            traceback.print_exc()
        print(f"nlsn: internal error: {type(err).__name__}: {err} (set NLSN_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL
