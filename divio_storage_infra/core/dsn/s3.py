"""The ``s3://`` scheme: format a DSN for a bucket, and read one the way django-storage-url does.

django-storage-url splits ``<bucket>.<endpoint host>`` by AWS-style needles (``.s3.``, ``.s3-``, ...) or else
by taking the last three labels as the endpoint; :func:`split_s3_host` does the same, so :func:`s3_dsn` can refuse a
DSN the app would read back as another bucket, endpoint or region.
"""

from __future__ import annotations

import re

from divio_storage_infra.core.dsn.errors import DsnError
from divio_storage_infra.core.dsn.mask import shown_token
from divio_storage_infra.core.dsn.media import DEFAULT_ACL
from divio_storage_infra.core.dsn.parsed import ParsedDsn
from divio_storage_infra.core.dsn.parts import DsnParts
from divio_storage_infra.core.dsn.values import (
    domain_problem,
    endpoint_url_problem,
    query_string,
    quote_value,
    secret_problem,
)
from divio_storage_infra.core.errors import MISSING, Problem
from divio_storage_infra.core.rules import check_bucket_name, check_endpoint

CANNED_ACLS: frozenset[str] = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)
"""The canned ACLs S3 knows; the ``acl`` parameter must be one of them."""
ADDRESSING_STYLES: frozenset[str] = frozenset({"auto", "path", "virtual"})
"""The values of the ``addressing_style`` parameter (boto3's)."""
S3_PARAMS: tuple[str, ...] = (
    "auth",
    "acl",
    "qs_auth",
    "domain",
    "url",
    "region_name",
    "addressing_style",
    "endpoint_url",
)
"""The query parameters of ``s3://`` (django-storage-url's plus endpoint_url); others only warn."""

# django-storage-url's list, in its order: the first needle found in the host wins, even inside a bucket name.
_AWS_NEEDLES: tuple[str, ...] = (
    ".s3-accesspoint-fips.dualstack.",
    ".s3-fips.dualstack.",
    ".s3-accesspoint.dualstack.",
    ".s3.dualstack.",
    ".s3-accesspoint.",
    ".s3-fips.",
    ".s3-",
    ".s3.",
)
_TRUE = frozenset({"1", "true", "yes", "on"})  # django-storage-url's boolean_str
_FALSE = frozenset({"0", "false", "no", "off"})
_HOST_SHAPE = "expected <bucket>.<endpoint host>, e.g. media.s3.eu-central-1.amazonaws.com"
_REGION_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_AUTH_RE = re.compile(r"^[a-z0-9-]{1,32}$")


def split_s3_host(host: str, region_param: str | None, *, shown: str) -> tuple[str, str, str | None, bool]:
    """Split ``<bucket>.<endpoint>`` exactly as django-storage-url does: (bucket, endpoint, region, aws_style).

    ``aws_style`` is True when a ``.s3.``-like needle decided the split; django-storage-url then takes the region
    from the host and ignores ``region_name``.
    """
    for needle in _AWS_NEEDLES:
        bucket, marker, rest = host.partition(needle)
        if not marker:
            continue
        region: str | None = rest.split(".", 1)[0]
        if region == "amazonaws":
            region = None
        elif region in ("control", "control-fips"):
            continue
        return bucket, marker.lstrip(".") + rest, region, True
    labels = host.rsplit(".", 3)
    if len(labels) < 2:
        raise DsnError.one("host", shown, _HOST_SHAPE)
    derived = labels[1].partition("-")[2]
    return labels[0], ".".join(labels[1:]), (region_param if region_param is not None else derived) or None, False


def s3_dsn(
    *,
    bucket: str,
    endpoint_host: str,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    custom_domain: str | None = None,
    signed_urls: bool = False,
    acl: str = DEFAULT_ACL,
    region: str | None = None,
    endpoint_url: str | None = None,
    path_style: bool = False,
) -> str:
    """The S3 DSN for a bucket at ``endpoint_host``; raises DsnError when django-storage-url could not read it back.

    ``region`` is written as ``region_name`` only when the host does not already name it; ``endpoint_url`` is
    this project's emulator extension. ``signed_urls`` (private bucket) excludes ``custom_domain``;
    ``path_style`` adds ``addressing_style=path``.
    """
    problems = [
        *_place_problems(bucket, endpoint_host, region, endpoint_url),
        *_credential_problems(access_key_id, secret_access_key),
        *_option_problems(custom_domain, signed_urls, acl),
    ]
    if problems:
        raise DsnError(problems)

    host = f"{bucket}.{endpoint_host}"
    write_region = _region_to_write(bucket, endpoint_host, region)
    userinfo = ""
    if access_key_id is not None and secret_access_key is not None:
        userinfo = f"{quote_value(access_key_id)}:{quote_value(secret_access_key)}@"
    params = [("auth", "s3v4"), ("acl", acl)]
    if signed_urls:
        params.append(("qs_auth", "true"))
    if custom_domain is not None:
        params.append(("domain", custom_domain))
    if write_region and region is not None:
        params.append(("region_name", region))
    if path_style:
        # Providers without wildcard DNS for bucket sub-domains; django-storage-url passes it to boto3.
        params.append(("addressing_style", "path"))
    if endpoint_url is not None:
        params.append(("endpoint_url", endpoint_url))
    return f"s3://{userinfo}{host}/?{query_string(params)}"


def parse_s3(parts: DsnParts) -> ParsedDsn:
    """Read the parts of an ``s3://`` DSN as django-storage-url does; raises DsnError (masked)."""
    user, password, masked = parts.user, parts.password, parts.masked
    if user is not None and password is None:
        raise DsnError.one("dsn", masked, "an access key id needs its secret: s3://<KEY>:<SECRET>@<bucket>.<host>/")
    if user is not None and (not user or not password):
        raise DsnError.one("dsn", masked, "expected a non-empty access key id and secret, or no user part at all")
    region_param = parts.required("region_name")
    if region_param is not None and not _REGION_RE.fullmatch(region_param):
        raise DsnError.one("region_name", shown_token(region_param), "expected lowercase letters, digits and hyphens")
    bucket, endpoint_host, region, aws_style = split_s3_host(parts.host, region_param, shown=masked)
    if not bucket:
        raise DsnError.one("host", masked, _HOST_SHAPE)
    acl = parts.required("acl")
    if acl is not None and acl not in CANNED_ACLS:
        raise DsnError.one("acl", shown_token(acl), f"expected a canned ACL: {', '.join(sorted(CANNED_ACLS))}")
    qs_auth = parts.required("qs_auth")
    if qs_auth is not None and qs_auth.lower() not in _TRUE | _FALSE:
        raise DsnError.one("qs_auth", shown_token(qs_auth), "expected true or false (1/0, yes/no, on/off)")
    auth = parts.required("auth")
    if auth is not None and not _AUTH_RE.fullmatch(auth):
        raise DsnError.one("auth", shown_token(auth), "expected a signature version such as s3v4")
    style = parts.required("addressing_style")
    if style is not None and style not in ADDRESSING_STYLES:
        raise DsnError.one(
            "addressing_style", shown_token(style), f"expected one of {', '.join(sorted(ADDRESSING_STYLES))}"
        )
    return ParsedDsn(
        scheme="s3",
        endpoint_host=f"{endpoint_host}:{parts.port}" if parts.port else endpoint_host,
        bucket=bucket,
        region=region,
        access_key_id=user,
        secret=password,
        custom_domain=parts.custom_domain,
        url=parts.url,
        signed_urls=qs_auth is not None and qs_auth.lower() in _TRUE,
        acl=acl,
        auth=auth,
        # django-storage-url's choice: virtual-hosted names of dotted buckets fail TLS.
        addressing_style=style or ("path" if "." in bucket else "auto"),
        location=parts.path.lstrip("/"),
        endpoint_url=parts.endpoint_url,
        unknown_params=parts.unknown_params(S3_PARAMS),
        region_name_ignored=aws_style and region_param is not None and region_param != region,
        raw=parts.text,
    )


def _place_problems(bucket: str, endpoint_host: str, region: str | None, endpoint_url: str | None) -> list[Problem]:
    """What is wrong with the bucket name, endpoint host, region and emulator endpoint of a DSN."""
    problems: list[Problem] = []
    if why := check_bucket_name(bucket):
        problems.append(Problem("bucket", bucket, why))
    if why := check_endpoint(endpoint_host):
        problems.append(Problem("endpoint_host", endpoint_host, why))
    elif ":" in endpoint_host:
        problems.append(
            Problem(
                "endpoint_host",
                endpoint_host,
                "django-storage-url drops the port and connects to https://<host>/; use a host on port 443 "
                "(for an emulator, pass endpoint_url as well)",
            )
        )
    if region is not None and (not isinstance(region, str) or not _REGION_RE.fullmatch(region)):
        problems.append(Problem("region", region, "expected a region name of lowercase letters, digits and hyphens"))
    if endpoint_url is not None and (problem := endpoint_url_problem("endpoint_url", endpoint_url)):
        problems.append(problem)
    return problems


def _credential_problems(access_key_id: str | None, secret_access_key: str | None) -> list[Problem]:
    """Both credentials or neither, each one usable in a URL; their values are never shown."""
    problems: list[Problem] = []
    if (access_key_id is None) != (secret_access_key is None):
        problems.append(
            Problem(
                "access_key_id" if access_key_id is None else "secret_access_key",
                MISSING,
                "give both access_key_id and secret_access_key, or neither (the app then uses a role)",
            )
        )
    if problem := secret_problem("access_key_id", access_key_id):
        problems.append(problem)
    elif isinstance(access_key_id, str) and not access_key_id.strip():
        problems.append(Problem("access_key_id", access_key_id, "expected a non-empty access key id"))
    if problem := secret_problem("secret_access_key", secret_access_key):
        problems.append(problem)
    return problems


def _option_problems(custom_domain: str | None, signed_urls: bool, acl: str) -> list[Problem]:
    """The custom domain (never with signed URLs) and the canned ACL."""
    problems: list[Problem] = []
    if custom_domain is not None:
        if problem := domain_problem("custom_domain", custom_domain):
            problems.append(problem)
        if signed_urls:
            problems.append(
                Problem(
                    "custom_domain",
                    custom_domain,
                    "a private bucket (signed_urls) is read through signed S3 URLs; django-storages does not sign "
                    "URLs on a custom domain, so leave custom_domain out",
                )
            )
    if not isinstance(acl, str) or acl not in CANNED_ACLS:
        problems.append(Problem("acl", acl, f"expected a canned ACL: {', '.join(sorted(CANNED_ACLS))}"))
    return problems


def _region_to_write(bucket: str, endpoint_host: str, region: str | None) -> bool:
    """Whether the DSN must name ``region_name``; DsnError when django-storage-url would read the host otherwise."""
    host = f"{bucket}.{endpoint_host}"
    read_bucket, read_endpoint, read_region, aws_style = split_s3_host(host, None, shown=host)
    if (read_bucket, read_endpoint) != (bucket, endpoint_host):
        raise DsnError.one(
            "endpoint_host",
            endpoint_host,
            f"django-storage-url would read {host!r} as bucket {read_bucket!r} at endpoint {read_endpoint!r}; "
            "it takes the last three labels as the endpoint unless the host contains '.s3.' or '.s3-', so use "
            "an endpoint host of three labels (or fewer with a bucket name without dots), and a bucket name "
            "without '.s3.' or '.s3-'",
        )
    write_region = region is not None and region != read_region
    if write_region and aws_style:
        raise DsnError.one(
            "region",
            region,
            f"django-storage-url takes the region from an AWS-style host and ignores region_name; "
            f"{endpoint_host!r} names region {read_region!r}: use the endpoint host of region {region!r}",
        )

    return write_region
