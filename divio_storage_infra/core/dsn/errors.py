"""The one error type of the DSN layer."""

from __future__ import annotations

from divio_storage_infra.core.errors import SpecError


class DsnError(SpecError):
    """A DSN, or a value to format one from, is invalid. The message never contains the secret: it is masked."""

    kind = "storage DSN"
