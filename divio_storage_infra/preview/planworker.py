"""A plan worker process (see :mod:`.fanout`): one share of a platform registry, planned like the whole.

``python -m divio_storage_infra.preview.planworker REQUEST RESULT``: REQUEST holds the pickled stack config and the
share (``(start, stop)`` indexes of the registry's entries) written by the parent ``plan``; RESULT receives the
pickled record of what the share declared, its blocks merged.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from divio_storage_infra.preview import fanout
from divio_storage_infra.preview.plan import declare


def work(request: Path, result: Path) -> int:
    """Plan the share in ``request`` in blocks; write the merged record to ``result`` (atomically)."""
    stack_config, share = pickle.loads(request.read_bytes())  # noqa: S301 - written by our parent
    first, *others = fanout.declare_span(declare, stack_config, share)
    declared = fanout.merge(first, others)
    partial = result.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(declared, protocol=pickle.HIGHEST_PROTOCOL))
    partial.rename(result)
    return 0


if __name__ == "__main__":
    sys.exit(work(Path(sys.argv[1]), Path(sys.argv[2])))
