"""What a storage DSN means once parsed: one object for both schemes, with what the app will do with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from divio_storage_infra.core.clouds import cloud_for_dsn
from divio_storage_infra.core.dsn.media import (
    AZURE_BLOB_HOST,
    DEFAULT_ACL,
    DSU_DEFAULT_ACL,
    azure_media_url,
    s3_media_url,
)
from divio_storage_infra.core.dsn.parts import masked_exact


@dataclass(frozen=True)
class ParsedDsn:
    """What a storage DSN means, as django-storage-url reads it plus this project's ``endpoint_url`` extension.

    S3 fields: ``bucket``, ``endpoint_host`` (``host[:port]``), ``region``, ``access_key_id``, ``secret``.
    Azure fields: ``account``, ``container``, ``credential_kind`` and ``account_key`` or ``sas_token`` (decoded);
    ``secret`` is then the same credential. Secrets are left out of ``repr``.
    """

    scheme: Literal["s3", "az"]
    endpoint_host: str
    bucket: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    custom_domain: str | None = None
    url: str | None = None
    """The ``url`` parameter (media base URL with scheme), which django-storage-url prefers over ``domain``."""
    signed_urls: bool = False
    acl: str | None = None
    """The ``acl`` parameter as given; None when absent (see :attr:`effective_acl`)."""
    auth: str | None = None
    addressing_style: str | None = None
    location: str = ""
    """S3 key prefix from the DSN's path (django-storage-url's ``location``)."""
    endpoint_url: str | None = None
    account: str | None = None
    container: str | None = None
    credential_kind: Literal["account-key", "sas"] | None = None
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    unknown_params: tuple[str, ...] = ()
    region_name_ignored: bool = False
    """True when ``region_name`` is present but django-storage-url takes the region from an AWS-style host."""
    raw: str = field(default="", repr=False, compare=False)

    def masked(self) -> str:
        """The DSN as given, with the secret replaced by ``***``."""
        return masked_exact(self.raw) if self.raw else ""

    @property
    def cloud(self) -> str:
        """A best guess at the provider from the host: ``aws``, ``exoscale``, ``s3-compatible`` or ``azure``."""
        return cloud_for_dsn(self.scheme, self.endpoint_host)

    @property
    def has_credentials(self) -> bool:
        """True when the DSN carries a secret (S3 key pair, Azure account key or SAS)."""
        return self.secret is not None

    @property
    def effective_acl(self) -> str | None:
        """The ACL uploads are sent with: the DSN's, else django-storage-url's default (S3 only)."""
        if self.scheme != "s3":
            return None
        return self.acl if self.acl is not None else DSU_DEFAULT_ACL

    @property
    def url_protocol(self) -> str:
        """The media URL scheme with colon, as django-storages wants it: ``https:`` unless ``url`` says otherwise."""
        return f"{urlsplit(self.url).scheme}:" if self.url else "https:"

    @property
    def effective_endpoint_url(self) -> str:
        """Where clients connect: the ``endpoint_url`` extension, else the cloud's HTTPS endpoint."""
        if self.endpoint_url is not None:
            return self.endpoint_url
        if self.scheme == "az":
            return f"https://{self.account}.{self.endpoint_host}"
        return f"https://{self.endpoint_host}"

    @property
    def media_url(self) -> str:
        """The public base URL of the stored files (signed URLs still need their query string)."""
        prefix = f"{self.location.strip('/')}/" if self.location.strip("/") else ""
        if self.scheme == "az":
            if self.custom_domain is not None:
                return f"{self.url_protocol}//{self.custom_domain}/{self.container}/"
            if self.endpoint_url is not None:
                return f"{self.endpoint_url.rstrip('/')}/{self.container}/"
            return azure_media_url(str(self.account), str(self.container))
        if self.custom_domain is not None:
            return f"{self.url_protocol}//{self.custom_domain}/{prefix}"
        if self.endpoint_url is not None:
            # Emulators on loopback cannot resolve virtual-hosted names: path style.
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{prefix}"
        return s3_media_url(str(self.bucket), self.endpoint_host) + prefix

    @property
    def warnings(self) -> tuple[str, ...]:
        """Where django-storage-url (what a Divio app runs) would read this DSN differently or fail on it."""
        out: list[str] = []
        if self.unknown_params:
            out.append(f"unknown parameter(s) {', '.join(self.unknown_params)}: django-storage-url ignores them")
        if self.url is not None and self.custom_domain is not None and self.url_protocol == "http:":
            out.append("url uses http: media links will not be encrypted")
        if self.endpoint_url is not None:
            target = f"https://{self.endpoint_host}/" if self.scheme == "s3" else f"{self.account}.{AZURE_BLOB_HOST}"
            out.append(
                f"endpoint_url is this project's extension: django-storage-url ignores it and connects to {target}"
            )
        if self.scheme == "s3":
            if self.acl is None:
                out.append(
                    "no acl: django-storage-url uploads with public-read, which S3 rejects on buckets with ACLs "
                    f"disabled; add acl={DEFAULT_ACL}"
                )
            if ":" in self.endpoint_host:
                host = self.endpoint_host.partition(":")[0]
                out.append(f"django-storage-url drops the port of the endpoint and connects to https://{host}/")
            if self.signed_urls and self.custom_domain is not None:
                out.append(
                    "qs_auth=true with a custom domain: django-storages does not sign URLs on a custom domain, "
                    "so links to this private bucket will be refused"
                )
            if self.region_name_ignored:
                out.append(f"region_name is ignored: django-storage-url takes region {self.region!r} from the host")
        else:
            if self.credential_kind is None:
                out.append(
                    "no credential: django-storage-url cannot read an az:// DSN without one; this form is for "
                    "apps that authenticate with a managed identity through their own settings"
                )
            if self.endpoint_host != AZURE_BLOB_HOST:
                out.append(
                    f"host {self.endpoint_host!r}: django-storages still connects to "
                    f"{self.account}.{AZURE_BLOB_HOST}; the host only changes the media URL"
                )
        return tuple(out)
