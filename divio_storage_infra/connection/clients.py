"""Clients for stores, all configured from one :class:`~.settings.ConnectionSettings`: a boto3 S3 client, an
azure-storage-blob container client and a requests session for anonymous requests.

Each trusts the settings' CA bundle, goes through the settings' proxy, reads no ``.netrc``, waits at most the
settings' timeouts for a connection or for the next bytes, and retries by :class:`~.retry.Retrying`. With
``max_body`` every answer is read within that many bytes (``check``'s probes); without it, bodies of any size
stream through (``bench``, ``backup``). The SDKs are imported when a client is made, not with this module.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from divio_storage_infra.connection.bodies import BlockSendingAdapter, BufferedBody, CappedAdapter, read_capped
from divio_storage_infra.connection.failures import is_dropped
from divio_storage_infra.connection.retry import Retrying, retry_after_seconds
from divio_storage_infra.connection.session import new_client
from divio_storage_infra.connection.settings import ConnectionSettings


def http_session(
    settings: ConnectionSettings, *, proxy_url: str | None = None, max_body: int | None = None, pool: int = 10
) -> requests.Session:
    """A requests session with the settings' CA bundle, no ``.netrc`` and no environment read behind the
    settings' back; ``proxy_url``'s proxy for every request (None: give ``proxies=`` per request); answers read
    within ``max_body`` bytes when given; ``pool`` connections kept per host."""
    session = requests.Session()
    # trust_env would read ~/.netrc (and send its password as Basic authentication, replacing an SDK's own
    # Authorization header) and the CA variables by requests' own, narrower rules: the settings decide instead.
    session.trust_env = False
    session.verify = settings.verify
    if proxy_url is not None:
        session.proxies = settings.proxies_for(proxy_url)
    adapter: HTTPAdapter
    if max_body is not None:
        # A compressed answer could expand past the cap in one step; stores answer uncompressed when asked to.
        session.headers["Accept-Encoding"] = "identity"
        adapter = CappedAdapter(max_body, pool_maxsize=pool)
    else:
        adapter = BlockSendingAdapter(pool_maxsize=pool)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send_anonymous(
    session: requests.Session,
    method: str,
    url: str,
    *,
    settings: ConnectionSettings,
    retrying: Retrying,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """One request without any credential (redirects not followed), tried again as :class:`Retrying` says."""
    attempt = 1
    while True:
        try:
            response = session.request(
                method,
                url,
                headers=dict(headers or {}),
                allow_redirects=False,
                timeout=(settings.connect_timeout, settings.read_timeout),
                proxies=settings.proxies_for(url),
            )
        except requests.RequestException as error:
            wait = retrying.wait(attempt, None, dropped=True) if is_dropped(error) else None
            if wait is None:
                raise
        else:
            if not retrying.retriable_answer(response.status_code, response.headers.get("x-ms-error-code")):
                return response
            wait = retrying.wait(attempt, retry_after_seconds(response.headers.get("Retry-After")))
            if wait is None:
                return response
        time.sleep(wait)
        attempt += 1


def s3_client(
    settings: ConnectionSettings,
    retrying: Retrying,
    *,
    endpoint_url: str | None,
    proxy_url: str,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    addressing_style: str = "auto",
    signature_version: str = "s3v4",
    max_pool_connections: int = 10,
    max_body: int | None = None,
    parameter_validation: bool = True,
    request_checksum_calculation: str | None = None,
    response_checksum_validation: str | None = None,
    expect_continue: bool = True,
) -> Any:
    """A boto3 S3 client on botocore's own transport with the settings (``proxy_url``: the URL whose proxy it
    uses, the endpoint's); one attempt per botocore's retry mode, retries by ``retrying`` (which reads
    ``Retry-After``), from the process's one session (:func:`.session.new_client`).

    For bulk copies (``backup``): ``parameter_validation=False`` skips botocore's check of each request's
    parameters (the caller builds them all); ``request_checksum_calculation`` / ``response_checksum_validation``
    (``"when_required"``: none beyond Content-MD5; None: botocore's default); ``expect_continue=False`` sends
    uploads without ``Expect: 100-continue``.
    """
    from botocore import handlers
    from botocore.config import Config

    proxies = settings.proxies_for(proxy_url)
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": addressing_style},
        signature_version=signature_version,
        # An empty mapping, not None: botocore would read the environment's proxies itself.
        proxies=proxies,
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
        parameter_validation=parameter_validation,
        request_checksum_calculation=request_checksum_calculation,
        response_checksum_validation=response_checksum_validation,
    )
    client: Any = new_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        verify=settings.verify,
        config=config,
    )
    client.meta.events.register("needs-retry.s3", retrying.botocore_handler())
    if not expect_continue:
        # "Expect: 100-continue" makes each upload wait up to a second for a server that never answers it
        # (SeaweedFS and others); without it a refused upload costs at most one part of bandwidth.
        client.meta.events.unregister("before-call.s3", handlers.add_expect_header)
    if max_body is not None:
        client.meta.events.register("before-send.s3", _capped_sender(settings, proxies, max_body, max_pool_connections))
    return client


def _capped_sender(settings: ConnectionSettings, proxies: dict[str, str], max_body: int, pool: int) -> Any:
    """A botocore ``before-send`` handler: the request goes out on botocore's own transport (same CA, proxy and
    timeouts), and its answer is read within ``max_body`` bytes before botocore sees it."""
    from botocore.awsrequest import AWSResponse
    from botocore.httpsession import URLLib3Session

    http = URLLib3Session(
        verify=settings.verify,
        proxies=proxies,
        timeout=(settings.connect_timeout, settings.read_timeout),
        max_pool_connections=pool,
    )

    def send(request: Any, **_: Any) -> Any:
        request.stream_output = True
        response = http.send(request)
        try:
            body = read_capped(response.raw, max_body)
        except BaseException:
            response.raw.close()
            raise
        # Read to the end: the connection goes back to the pool for the next request (keep-alive).
        response.raw.release_conn()
        return AWSResponse(request.url, response.status_code, response.headers, BufferedBody(body))

    return send


def container_client(
    settings: ConnectionSettings,
    retrying: Retrying,
    *,
    endpoint: str,
    container: str,
    credential: Any,
    max_body: int | None = None,
    pool: int = 10,
    part_size: int | None = None,
) -> Any:
    """An azure-storage-blob ``ContainerClient`` on azure-core's requests transport with the settings (its
    session from :func:`http_session`, so no ``.netrc`` replaces the shared key) and ``retrying``'s policy;
    ``part_size``: bytes of one staged block, of the largest single-request upload and of each ranged download
    (None: the SDK's defaults)."""
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import ContainerClient

    session = http_session(settings, proxy_url=endpoint, max_body=max_body, pool=pool)
    transport = RequestsTransport(
        session=session,
        use_env_settings=False,
        connection_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        connection_verify=settings.verify,
    )
    sizes: dict[str, Any] = {}
    if part_size is not None:
        sizes = {
            "max_block_size": part_size,
            "max_single_put_size": part_size,
            "max_chunk_get_size": part_size,
            "max_single_get_size": part_size,
        }
    return ContainerClient(
        endpoint,
        container,
        credential=credential,
        transport=transport,
        retry_policy=retrying.azure_policy(),
        connection_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        **sizes,
    )
