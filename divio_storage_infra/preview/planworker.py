"""A plan worker process (see :mod:`.blockplan`): one share of a platform registry, planned like the whole.

``python -m divio_storage_infra.preview.planworker REQUEST RESULT``: REQUEST holds the pickled stack config, the
kinds of pieces to write, the selection (``only``), the share (``(start, stop)`` indexes of the selected entries)
and the directory for the pieces, written by the parent ``plan``; RESULT receives the pickled names of the files
its runs' pieces were merged into (one per kind).
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from divio_storage_infra.preview import blockplan
from divio_storage_infra.preview.plan import run_pieces
from divio_storage_infra.preview.planparts import Spill


def work(request: Path, result: Path) -> int:
    """Plan the share in ``request`` in blocks; write the merged files' names to ``result`` (atomically)."""
    stack_config, kinds, only, share, directory = pickle.loads(request.read_bytes())  # noqa: S301 - our parent's
    spill = Spill(Path(directory), kinds)
    blockplan.plan_share(run_pieces(kinds), stack_config, blockplan.Selection(only), share, spill)
    files = spill.merge(tag="-worker")
    partial = result.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(files, protocol=pickle.HIGHEST_PROTOCOL))
    partial.rename(result)
    return 0


if __name__ == "__main__":
    sys.exit(work(Path(sys.argv[1]), Path(sys.argv[2])))
