"""A plan worker process (see :mod:`.fanout`): one block of a platform registry, planned like the whole.

``python -m divio_storage_infra.preview.planworker REQUEST RESULT``: REQUEST holds the pickled stack config, block
index and block count written by the parent ``plan``; RESULT receives the pickled record of what the block declared.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from divio_storage_infra.preview import fanout
from divio_storage_infra.preview.plan import declare


def work(request: Path, result: Path) -> int:
    """Plan block ``index`` of ``count`` of the stack in ``request``; write the record to ``result`` (atomically)."""
    stack_config, index, count = pickle.loads(request.read_bytes())  # noqa: S301 - written by our parent
    with fanout.installed(lambda entries: fanout.block(entries, index, count)):
        declared = declare(stack_config)
    partial = result.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(declared, protocol=pickle.HIGHEST_PROTOCOL))
    partial.rename(result)
    return 0


if __name__ == "__main__":
    sys.exit(work(Path(sys.argv[1]), Path(sys.argv[2])))
