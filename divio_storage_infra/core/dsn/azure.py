"""The ``az://`` scheme: format a DSN for a container, and read one the way django-storage-url does.

The account is the user part, the credential (account key, or base64 of a SAS query string) the password, and the
container the path: ``az://<account>:<credential>@blob.core.windows.net/<container>``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal
from urllib.parse import parse_qs

from divio_storage_infra.core.dsn.errors import DsnError
from divio_storage_infra.core.dsn.mask import MASK, shown_token
from divio_storage_infra.core.dsn.media import AZURE_BLOB_HOST
from divio_storage_infra.core.dsn.parsed import ParsedDsn
from divio_storage_infra.core.dsn.parts import DsnParts
from divio_storage_infra.core.dsn.values import (
    domain_problem,
    endpoint_url_problem,
    query_string,
    quote_value,
    secret_problem,
)
from divio_storage_infra.core.errors import Problem
from divio_storage_infra.core.rules import check_account_name

AZURE_PARAMS: tuple[str, ...] = ("domain", "url", "endpoint_url")
"""The query parameters of ``az://``; others only warn."""
_CONTAINER_RE = re.compile(r"^[a-z0-9](?:-?[a-z0-9])+$")


def container_ok(name: str) -> bool:
    """Azure's container rules (3-63 lowercase letters, digits, single hyphens) or a special container."""
    if not isinstance(name, str):
        return False
    return name in ("$root", "$web") or (3 <= len(name) <= 63 and bool(_CONTAINER_RE.fullmatch(name)))


def _sas_problem(token: str) -> Problem | None:
    """Why a SAS token would not be read as one by django-storage-url, or None."""
    if not token.isascii() or any(ch.isspace() for ch in token):
        return Problem("sas_token", MASK, "expected the SAS query string (ASCII, no spaces), e.g. sv=...&sig=...")
    if "sig" not in parse_qs(token):
        return Problem(
            "sas_token",
            MASK,
            "expected a SAS query string with a sig parameter; without it the key reads as an account key",
        )
    return None


def _account_key_problem(key: str) -> Problem | None:
    """Why an account key is not one django-storage-url reads as an account key, or None."""
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return Problem("account_key", MASK, "expected the account key as Azure shows it: padded standard base64")
    if not decoded:
        return Problem("account_key", MASK, "expected a non-empty base64 account key")
    try:
        text = decoded.decode("ascii")
    except UnicodeDecodeError:
        return None
    if "sig" in parse_qs(text):
        return Problem("account_key", MASK, "this key decodes to a SAS query string; pass it as sas_token")
    return None


def azure_dsn(
    *,
    account: str,
    container: str,
    account_key: str | None = None,
    sas_token: str | None = None,
    custom_domain: str | None = None,
    endpoint_url: str | None = None,
) -> str:
    """The Azure Blob DSN for ``container`` in ``account``, with an account key, a SAS token (base64) or neither.

    Without a credential the DSN is ``az://<account>@blob.core.windows.net/<container>``, for apps using a managed
    identity: django-storage-url cannot read that form. A leading ``?`` of the SAS token is dropped.
    """
    problems: list[Problem] = []
    if why := check_account_name(account):
        problems.append(Problem("account", account, why))
    if not container_ok(container):
        problems.append(
            Problem(
                "container",
                container,
                "expected 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter "
                "or digit",
            )
        )
    if account_key is not None and sas_token is not None:
        problems.append(Problem("sas_token", MASK, "give account_key or sas_token, not both"))
    credential: str | None = None
    if account_key is not None:
        if problem := secret_problem("account_key", account_key) or _account_key_problem(account_key):
            problems.append(problem)
        credential = account_key
    elif sas_token is not None:
        token = sas_token.removeprefix("?") if isinstance(sas_token, str) else sas_token
        if problem := secret_problem("sas_token", token) or _sas_problem(token):
            problems.append(problem)
        else:
            credential = base64.b64encode(token.encode("ascii")).decode("ascii")
    if custom_domain is not None and (problem := domain_problem("custom_domain", custom_domain)):
        problems.append(problem)
    if endpoint_url is not None and (problem := endpoint_url_problem("endpoint_url", endpoint_url)):
        problems.append(problem)
    if problems:
        raise DsnError(problems)

    userinfo = f"{account}:{quote_value(credential)}@" if credential is not None else f"{account}@"
    params: list[tuple[str, str]] = []
    if custom_domain is not None:
        params.append(("domain", custom_domain))
    if endpoint_url is not None:
        params.append(("endpoint_url", endpoint_url))
    query = f"?{query_string(params)}" if params else ""
    return f"az://{userinfo}{AZURE_BLOB_HOST}/{container}{query}"


def parse_azure(parts: DsnParts) -> ParsedDsn:
    """Read the parts of an ``az://`` DSN as django-storage-url does; raises DsnError (masked)."""
    user, password, masked = parts.user, parts.password, parts.masked
    if not user:
        raise DsnError.one("dsn", masked, "az:// DSNs name the account: az://<account>:<key>@blob.core.windows.net/<c>")
    if why := check_account_name(user):
        raise DsnError.one("account", masked, why)
    container = parts.path.strip("/")
    if not container_ok(container):
        raise DsnError.one(
            "container",
            shown_token(container),
            "expected the container as the path: 3-63 lowercase letters, digits, hyphens",
        )
    kind: Literal["account-key", "sas"] | None = None
    account_key: str | None = None
    sas_token: str | None = None
    if password is not None:
        if not password:
            raise DsnError.one("dsn", masked, "expected a credential after ':' or no ':' at all")
        # django-storage-url pads, then decodes; text with a sig parameter is a SAS, anything else a key. It skips
        # characters outside base64, but Azure cannot use such a key, so they are refused here.
        padded = password + "=" * (-len(password) % 4)
        try:
            decoded = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            raise DsnError.one("credential", MASK, "expected a base64 account key or base64 SAS query string") from None
        try:
            token = decoded.decode("ascii")
        except UnicodeDecodeError:
            token = ""
        if token and "sig" in parse_qs(token):
            kind, sas_token = "sas", token
        else:
            kind, account_key = "account-key", padded
    return ParsedDsn(
        scheme="az",
        endpoint_host=parts.host_port,
        secret=account_key if kind == "account-key" else sas_token,
        custom_domain=parts.custom_domain,
        url=parts.url,
        endpoint_url=parts.endpoint_url,
        account=user,
        container=container,
        credential_kind=kind,
        account_key=account_key,
        sas_token=sas_token,
        unknown_params=parts.unknown_params(AZURE_PARAMS),
        raw=parts.text,
    )
