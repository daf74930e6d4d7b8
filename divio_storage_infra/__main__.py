"""``python -m divio_storage_infra`` is the ``divio-storage`` command."""

import sys

from divio_storage_infra.cli.main import main

sys.exit(main())
