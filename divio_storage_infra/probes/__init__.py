"""The probes behind ``divio-storage check``: one store adapter per cloud and the sequence they share.

:mod:`divio_storage_infra.probes.base` holds the results, the secret redaction, the anonymous HTTP requests and
the probe sequence; :mod:`~divio_storage_infra.probes.s3` (boto3) and :mod:`~divio_storage_infra.probes.azure`
(azure-storage-blob) adapt one cloud each. The cloud SDKs are imported only when a store is opened, so importing
this package stays cheap.
"""

from __future__ import annotations

from divio_storage_infra.probes.base import ProbeResult, Status, StoreReport

__all__ = ["ProbeResult", "Status", "StoreReport"]
