"""The DSNs an app uses against a local store: the exported DSN with the local credentials in place of the mock
run's placeholders and this project's ``endpoint_url`` extension (docs/dsn.md), everything else as exported.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.localstores.apply_azure import AzureApplied
from divio_storage_infra.localstores.azurite import ACCOUNT, ACCOUNT_KEY
from divio_storage_infra.localstores.declared import MOCK_ACCOUNT_KEY


class LocalDsnError(ValueError):
    """The exported DSN is not what the local store can stand in for (a bug in the program or the applier)."""


def _same(before: object, after: object, attributes: tuple[str, ...]) -> None:
    for attribute in attributes:
        if getattr(before, attribute) != getattr(after, attribute):
            raise LocalDsnError(f"the local DSN changed the exported DSN's {attribute}")


_S3_MEANING = (
    "bucket",
    "endpoint_host",
    "region",
    "custom_domain",
    "signed_urls",
    "acl",
    "auth",
    "location",
    "addressing_style",
)


def with_endpoint_url(dsn: str, endpoint_url: str) -> str:
    """The exported DSN exactly as exported (credentials included) plus the ``endpoint_url`` extension."""
    if "endpoint_url=" in dsn:
        raise LocalDsnError("the exported DSN already names an endpoint_url")
    joined = f"{dsn}{'&' if '?' in dsn else '?'}endpoint_url={quote(endpoint_url, safe='')}"
    before, after = parse_dsn(dsn), parse_dsn(joined)
    _same(before, after, (*_S3_MEANING, "access_key_id", "secret"))
    return joined


def s3_emulator_dsn(dsn: str, endpoint_url: str, key: tuple[str, str] | None) -> str:
    """The exported DSN with the emulator's key pair in place of the mock's and the endpoint_url extension added.

    Everything else (bucket host, acl, qs_auth, domain, addressing style) stays as the component exported it.
    """
    scheme, _, rest = dsn.partition("://")
    netloc_end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    host_part = rest[:netloc_end].rpartition("@")[2]
    userinfo = f"{quote(key[0], safe='')}:{quote(key[1], safe='')}@" if key else ""
    joined = with_endpoint_url(f"{scheme}://{userinfo}{host_part}{rest[netloc_end:]}", endpoint_url)
    before, after = parse_dsn(dsn), parse_dsn(joined)
    _same(before, after, _S3_MEANING)
    return joined


def azure_emulator_dsn(dsn: str, applied: AzureApplied, *, key_for_none: bool = False) -> str:
    """The exported DSN with the development account and its real credential, and the endpoint_url extension.

    An account-key DSN gets Azurite's key; a SAS DSN gets the token signed from the declared SAS invoke for the
    same container; a DSN without credentials gets the account key with ``key_for_none`` (``dev``: production
    gives the app a role there). Host, container and domain stay as exported.
    """
    parsed = parse_dsn(dsn)
    scheme, _, rest = dsn.partition("://")
    host_and_rest = rest.partition("@")[2]
    if parsed.credential_kind == "account-key":
        if parsed.account_key != MOCK_ACCOUNT_KEY:
            raise LocalDsnError("the DSN's account key is not the one listStorageAccountKeys returned")
        credential: str | None = ACCOUNT_KEY
    elif parsed.credential_kind == "sas":
        token = parsed.sas_token or ""
        if f"sig=mock-signature-of-{parsed.container}" not in token:
            raise LocalDsnError(f"the DSN's SAS is not the one signed for container {parsed.container}")
        credential = base64.b64encode(applied.sas_tokens[str(parsed.container)].encode()).decode()
    else:
        credential = ACCOUNT_KEY if key_for_none else None
        host_and_rest = rest.rpartition("@")[2]
    userinfo = f"{ACCOUNT}:{quote(credential, safe='')}@" if credential else f"{ACCOUNT}@"
    swapped = f"{scheme}://{userinfo}{host_and_rest}"
    joined = f"{swapped}{'&' if '?' in swapped else '?'}endpoint_url={quote(applied.endpoint_url, safe='')}"
    after = parse_dsn(joined)
    _same(parsed, after, ("container", "custom_domain"))
    expected = "account-key" if parsed.credential_kind is None and key_for_none else parsed.credential_kind
    if after.credential_kind != expected:
        raise LocalDsnError(f"the local DSN's credential is {after.credential_kind}, not {expected}")
    return joined


def without_domain(dsn: str) -> str:
    """``dsn`` without its ``domain`` query parameter: locally the custom media domain does not resolve, so
    public URLs name the local endpoint instead. Every other parameter stays as it is, in its order."""
    base, question, query = dsn.partition("?")
    if not question:
        return dsn
    kept = [part for part in query.split("&") if part.partition("=")[0] != "domain"]
    return f"{base}?{'&'.join(kept)}" if kept else base
