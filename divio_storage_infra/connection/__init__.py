"""One way to talk to stores, shared by ``check``, ``bench``, ``backup``, ``restore`` and ``dev``.

Typical use::

    settings = settings_from_environment(ca_bundle=args.ca_bundle, connect_timeout=5, read_timeout=20)
    cutoff = Cutoff(deadline=time.monotonic() + 60)        # optional: bound the whole run
    retrying = Retrying(settings, cutoff)
    s3 = s3_client(settings, retrying, endpoint_url=url, proxy_url=url, region="eu-central-1", ...)
    blobs = container_client(settings, retrying, endpoint=url, container="media", credential=key)
    with cutoff.window(5):                                 # optional: bound one request, wall-clock
        s3.put_object(...)

- :mod:`.settings`: CA bundle (``--ca-bundle``, ``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, in that
  order, applied to every SDK), proxies (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``), timeouts, attempts.
- :mod:`.clients`: a boto3 S3 client on botocore's transport, an azure-storage-blob container client on
  azure-core's, a requests session for anonymous requests; none reads ``.netrc``.
- :mod:`.retry`: retries for 500/502/503/504, ``SlowDown``, ``ServerBusy`` and dropped keep-alive connections,
  waiting what ``Retry-After`` asks.
- :mod:`.cutoff`: ends requests in flight at a per-request or whole-run deadline.
- :mod:`.failures`: the words for a failure (untrusted, expired or wrong-host certificate, plain HTTP on a TLS
  port, handshake timeout, proxy, DNS, refused, timeouts, not HTTP, dropped).
- :mod:`.bodies`: a cap on answers known to be small.
- :mod:`.session`: one boto3 session per process for every S3 client (creating one reads the models again);
  :mod:`.timestamps`: its answers' timestamps read with ``datetime.fromisoformat`` (botocore's parser is ~30x
  slower, a second of CPU for a 10,000-object listing of two stores).

Nothing here imports a cloud SDK until a client is made.
"""

from __future__ import annotations

from divio_storage_infra.connection.bodies import DEFAULT_MAX_BODY, BodyTooLarge
from divio_storage_infra.connection.clients import container_client, http_session, s3_client, send_anonymous
from divio_storage_infra.connection.cutoff import Cutoff, Window
from divio_storage_infra.connection.failures import Failure, describe, failed_url, find_cause, is_dropped, never_sent
from divio_storage_infra.connection.retry import Retrying, retry_after_seconds
from divio_storage_infra.connection.settings import (
    CA_VARIABLES,
    ConnectionSettings,
    ConnectionSettingsError,
    settings_from_environment,
)

__all__ = [
    "CA_VARIABLES",
    "DEFAULT_MAX_BODY",
    "BodyTooLarge",
    "ConnectionSettings",
    "ConnectionSettingsError",
    "Cutoff",
    "Failure",
    "Retrying",
    "Window",
    "container_client",
    "describe",
    "failed_url",
    "find_cause",
    "http_session",
    "is_dropped",
    "never_sent",
    "retry_after_seconds",
    "s3_client",
    "send_anonymous",
    "settings_from_environment",
]
