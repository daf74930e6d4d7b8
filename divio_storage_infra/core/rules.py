"""Validation rules shared by the spec and the DSN layer: host names, endpoints, origins, bucket and account names.

Each rule returns why a value is not allowed (a sentence for the error message), or None when it is. Pure Python.
"""

from __future__ import annotations

import ipaddress
import re

_NOT_TEXT = "expected a string"
_PORT_RE = re.compile(r"^[0-9]{1,5}$")  # ASCII digits: str.isdigit() also accepts '²', which int() refuses
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
"""One DNS label: 1-63 lowercase letters, digits and inner hyphens."""
_ORIGIN_RE = re.compile(r"^(?P<scheme>https?)://(?P<host>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")


def check_origin(value: str, *, allow_wildcard: bool) -> str | None:
    """Why ``value`` is not a CORS origin (``scheme://host[:port]``), or None when it is."""
    if not isinstance(value, str):
        return _NOT_TEXT
    if value == "*":
        if allow_wildcard:
            return None
        return "'*' lets every site read the media through browsers; set allowWildcardOrigin: true to mean it"
    match = _ORIGIN_RE.fullmatch(value)
    if not match or len(value) > 270:
        return "expected scheme://host[:port] with scheme http or https, lowercase, and no path or trailing slash"
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        return "expected a port from 1 to 65535"
    host = match.group("host")
    if not host.startswith("[") and not all(LABEL_RE.fullmatch(label) for label in host.split(".")):
        return "expected a host name of dot-separated labels (letters, digits, hyphens)"
    return None


def check_hostname(value: str) -> str | None:
    """Why ``value`` is not a DNS host name (no scheme, port or path), or None when it is."""
    if not isinstance(value, str):
        return _NOT_TEXT
    if len(value) > 253 or "." not in value:
        return "expected a fully qualified host name such as media.example.com (no scheme, port or path)"
    if not all(LABEL_RE.fullmatch(label) for label in value.split(".")):
        return "expected a lowercase host name such as media.example.com (no scheme, port or path)"
    return None


def check_endpoint(value: str) -> str | None:
    """Why ``value`` is not an endpoint ``host[:port]`` (no scheme, no path), or None when it is."""
    if not isinstance(value, str):
        return _NOT_TEXT
    if "://" in value or "/" in value:
        return "expected a host without scheme or path, e.g. objects.example.net"
    host, colon, port = value.partition(":")
    if colon and (not _PORT_RE.fullmatch(port) or not 1 <= int(port) <= 65535):
        return "expected a port of ASCII digits from 1 to 65535 after the host"
    if len(host) > 253 or not all(LABEL_RE.fullmatch(label) for label in host.split(".")):
        return "expected a lowercase host name of dot-separated labels, optionally with :port"
    return None


def check_bucket_name(value: str) -> str | None:
    """Why ``value`` is not a valid S3 bucket name (3-63 chars, lowercase, no ``..``, not IP-like), or None."""
    if not isinstance(value, str):
        return _NOT_TEXT
    if not 3 <= len(value) <= 63:
        return f"S3 bucket names have 3 to 63 characters (this one has {len(value)})"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", value):
        return "expected lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in value or ".-" in value or "-." in value:
        return "S3 bucket names may not contain '..', '.-' or '-.'"
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        pass
    else:
        return "S3 bucket names may not look like an IP address"
    if value.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or value.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        return "S3 reserves the prefixes xn--, sthree-, amzn-s3-demo- and the suffixes -s3alias, --ol-s3, --x-s3"
    return None


def check_account_name(value: str) -> str | None:
    """Why ``value`` is not a valid Azure storage account name (3-24 lowercase letters and digits), or None."""
    if not isinstance(value, str):
        return _NOT_TEXT
    if not re.fullmatch(r"[a-z0-9]{3,24}", value):
        return "Azure storage account names have 3 to 24 lowercase letters and digits"
    return None
