"""The Azure Blob store adapter (Azure, Azurite) for ``divio-storage check``, on azure-storage-blob."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import quote

from divio_storage_infra.connection import container_client
from divio_storage_infra.core.dsn import ParsedDsn
from divio_storage_infra.probes.base import SIGNED_URL_SECONDS, ProbeOptions, Redactor, Role, Unreachable

# Azure error codes, in words; Azurite says AuthorizationFailure where Azure says AuthenticationFailed.
_ERRORS = {
    "AuthenticationFailed": "credential rejected: a wrong account key, or a SAS that is expired, not yet valid "
    "or signed with another key",
    "AuthorizationFailure": "credential rejected: a wrong account key, or a SAS that is expired, not yet valid "
    "or signed with another key",
    "AuthorizationPermissionMismatch": "the SAS does not grant this operation (see its sp= permissions)",
    "AuthorizationResourceTypeMismatch": "the SAS is for another kind of resource than this container",
    "AuthorizationProtocolMismatch": "the SAS allows HTTPS only, but the endpoint is plain HTTP",
    "AuthorizationSourceIPMismatch": "the SAS does not allow requests from this IP address",
    "KeyBasedAuthenticationNotPermitted": "the account has shared-key access off, so account keys and SAS fail",
    "ContainerNotFound": "the container does not exist",
    "AccountIsDisabled": "the storage account is disabled",
}


class AzureStore:
    """One container of an ``az://`` DSN, reached with the DSN's account key or SAS.

    The client is :func:`divio_storage_infra.connection.container_client` with ``options``' connection settings
    (CA bundle, proxy, retries, no ``.netrc``) and body cap; ``pool`` connections are kept for parallel requests.
    """

    def __init__(self, parsed: ParsedDsn, role: Role, options: ProbeOptions, *, pool: int = 10) -> None:
        self.parsed = parsed
        self.role = role
        self.container = str(parsed.container)
        self.account = str(parsed.account)
        # Azurite's endpoint ends in the account ("http://127.0.0.1:10000/devstoreaccount1"): keep it as given.
        self.endpoint = parsed.effective_endpoint_url.rstrip("/")
        self.key_prefix = ""
        self.options = options
        sas = parsed.sas_token
        self.redact = Redactor(
            [parsed.secret, sas, base64.b64encode(sas.encode()).decode() if sas else None, parsed.account_key]
        )
        credential: Any = None
        if parsed.account_key is not None:
            credential = {"account_name": self.account, "account_key": parsed.account_key}
        elif sas is not None:
            credential = sas
        self.client: Any = container_client(
            options.settings,
            options.retrying,
            endpoint=self.endpoint,
            container=self.container,
            credential=credential,
            max_body=options.max_body,
            pool=pool,
        )

    def check_credentials(self) -> str | None:
        """Why the DSN cannot write: without a credential there is nothing to probe with."""
        if self.parsed.credential_kind is None:
            return (
                "the DSN carries no credential (the app uses a managed identity): check needs the account key "
                "or a SAS in the DSN"
            )
        return None

    def write(self, key: str, body: bytes) -> None:
        """Put Blob with the DSN's credential, overwriting as the app does."""
        from azure.storage.blob import ContentSettings

        self.client.upload_blob(key, body, overwrite=True, content_settings=ContentSettings(content_type="text/plain"))

    def read(self, key: str) -> bytes:
        """Get Blob with the DSN's credential."""
        data: bytes = self.client.download_blob(key).readall()
        return data

    def delete(self, key: str) -> None:
        """Delete Blob with the DSN's credential."""
        self.client.delete_blob(key)

    def object_url(self, key: str) -> str:
        """The unsigned blob URL at the account's endpoint."""
        return f"{self.endpoint}/{self.container}/{quote(key)}"

    def custom_domain_url(self, key: str) -> str | None:
        """The blob on the DSN's media domain, where the app links to it."""
        if self.parsed.custom_domain is None:
            return None
        return f"{self.parsed.media_url}{quote(key)}"

    def signed_url(self, key: str) -> str:
        """A read-only blob SAS URL (account key), or the blob URL with the DSN's own container SAS."""
        url = self.object_url(key)
        if self.parsed.sas_token is not None:
            return f"{url}?{self.parsed.sas_token}"
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        now = dt.datetime.now(dt.UTC)
        token = generate_blob_sas(
            self.account,
            self.container,
            key,
            account_key=self.parsed.account_key,
            permission=BlobSasPermissions(read=True),
            # A few minutes back, so a small clock difference with the service does not make it "not yet valid".
            start=now - dt.timedelta(minutes=5),
            expiry=now + dt.timedelta(seconds=SIGNED_URL_SECONDS),
        )
        self.redact.add(token)
        return f"{url}?{token}"

    def explain(self, error: Exception) -> str:
        """The error in one line from its code (never its raw text); Unreachable for connection problems."""
        from azure.core import exceptions as ax

        if isinstance(error, ax.ServiceRequestError):
            raise Unreachable(f"cannot reach {self.endpoint}: connection refused, timed out or host not resolved")
        if isinstance(error, ax.ServiceResponseError):
            return f"{self.endpoint} accepted the connection but sent no valid answer in time"
        if isinstance(error, ax.HttpResponseError):
            raw = getattr(error, "error_code", None) or ""
            # Sometimes a StorageErrorCode enum, sometimes the plain string: the code is the value either way.
            code = str(getattr(raw, "value", raw))
            status = getattr(error, "status_code", None)
            if code in _ERRORS:
                return f"{_ERRORS[code]} ({code}, HTTP {status})"
            if code == "ResourceNotFound" or (status == 404 and not code):
                return f"not found (HTTP 404): does the account {self.account} serve container {self.container}?"
            return f"Azure error {code or 'without code'} (HTTP {status})"
        if isinstance(error, ValueError):
            # The SDK's own validation (e.g. a malformed account key it cannot decode).
            return f"the credential cannot be used: {self.redact(str(error))}"
        return f"unexpected {type(error).__name__}: {self.redact(str(error))}"

    def public_refused_hint(self) -> str:
        """What makes Azure blobs publicly readable in this design."""
        return "the container needs public access 'blob' and the account must allow blob public access"

    def private_open_hint(self) -> str:
        """What makes Azure blobs public by mistake."""
        return "set the container's public access to none (or turn blob public access off for the account)"
