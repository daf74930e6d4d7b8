"""Which credentials the app receives: ``credentials``, one of the modes the cloud's table offers."""

from __future__ import annotations

from divio_storage_infra.core.clouds import CloudCapabilities, Credentials
from divio_storage_infra.core.validation.collector import Collector


def credentials(c: Collector, caps: CloudCapabilities) -> Credentials:
    """The credential mode, default the cloud's first; a mode the cloud lacks is an error that says why."""
    offered = caps.credentials
    raw = c.string("credentials", caps.default_credentials)
    for mode in offered:
        if raw == mode:
            return mode
    why = caps.credentials_why.get(str(raw), f"cloud {caps.name} offers {', '.join(offered)}")
    c.bad("credentials", raw, why)
    return caps.default_credentials
