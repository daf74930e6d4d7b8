"""The S3 store adapter (AWS, Exoscale, any S3-compatible endpoint, moto) for ``divio-storage check``, on boto3."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from divio_storage_infra.connection import s3_client
from divio_storage_infra.core.dsn import ParsedDsn
from divio_storage_infra.probes.base import SIGNED_URL_SECONDS, ProbeOptions, Redactor, Role, Unreachable

# Error codes that mean the key pair itself was refused, not merely lacking a right.
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId": "the access key id is unknown to the endpoint",
    "SignatureDoesNotMatch": "the secret does not match the access key id",
    "InvalidToken": "the credential's session token is invalid",
    "ExpiredToken": "the credential has expired",
    "InvalidClientTokenId": "the access key id is unknown to the endpoint",
}


class S3Store:
    """One bucket of an ``s3://`` DSN, reached with the DSN's key pair (or the environment's, without one).

    The client is :func:`divio_storage_infra.connection.s3_client` with ``options``' connection settings (CA
    bundle, proxy, retries) and body cap; ``pool`` connections are kept for parallel requests.
    """

    def __init__(self, parsed: ParsedDsn, role: Role, options: ProbeOptions, *, pool: int = 10) -> None:
        self.parsed = parsed
        self.role = role
        self.bucket = str(parsed.bucket)
        self.endpoint = parsed.effective_endpoint_url
        self.key_prefix = _prefix(parsed.location)
        # Emulators on loopback have no virtual-hosted names; elsewhere follow the DSN as django-storage-url does.
        self.addressing = "path" if parsed.endpoint_url else (parsed.addressing_style or "auto")
        self.redact = Redactor([parsed.secret])
        self.options = options
        self.client: Any = s3_client(
            options.settings,
            options.retrying,
            endpoint_url=self.endpoint,
            proxy_url=self.endpoint,
            region=parsed.region or "us-east-1",
            access_key_id=parsed.access_key_id,
            secret_access_key=parsed.secret,
            addressing_style=self.addressing,
            signature_version=parsed.auth or "s3v4",
            max_pool_connections=pool,
            max_body=options.max_body,
        )

    def check_credentials(self) -> str | None:
        """None: without a key pair in the DSN, boto3's own chain (role, environment) is what the app uses too."""
        return None

    def write(self, key: str, body: bytes) -> None:
        """PUT with the ACL the app sends (django-storage-url: the DSN's ``acl``, else public-read)."""
        extra: dict[str, str] = {}
        acl = self.parsed.effective_acl
        if acl is not None:
            extra["ACL"] = acl
        # A file, not bytes: the body then goes out in blocks, each send bounded by the timeout on its own, so a
        # slow link that keeps moving never times out (one sendall of the whole body would be bounded in total).
        self.client.put_object(Bucket=self.bucket, Key=key, Body=io.BytesIO(body), ContentType="text/plain", **extra)

    def read(self, key: str) -> bytes:
        """GET with the DSN's key pair."""
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def delete(self, key: str) -> None:
        """DELETE with the DSN's key pair."""
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def object_url(self, key: str) -> str:
        """The unsigned object URL at the endpoint, in the addressing style the DSN implies."""
        path = quote(key)
        if self.parsed.endpoint_url is not None:
            return f"{self.parsed.endpoint_url.rstrip('/')}/{self.bucket}/{path}"
        if self.addressing == "path":
            return f"https://{self.parsed.endpoint_host}/{self.bucket}/{path}"
        return f"https://{self.bucket}.{self.parsed.endpoint_host}/{path}"

    def custom_domain_url(self, key: str) -> str | None:
        """The object on the DSN's media domain (``domain`` / ``url``), where the app links to it."""
        if self.parsed.custom_domain is None:
            return None
        relative = key.removeprefix(self.key_prefix)
        return f"{self.parsed.media_url}{quote(relative)}"

    def signed_url(self, key: str) -> str:
        """A presigned GET, as django-storages makes them for a DSN with ``qs_auth=true``."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=SIGNED_URL_SECONDS
        )
        return url

    def explain(self, error: Exception) -> str:
        """The error in one line from its code (never its raw text); Unreachable for connection problems."""
        from botocore import exceptions as bx

        if isinstance(error, bx.ConnectTimeoutError):
            raise Unreachable(f"cannot reach {self.endpoint}: no answer within the connect timeout")
        if isinstance(error, bx.EndpointConnectionError):
            raise Unreachable(f"cannot reach {self.endpoint}: connection refused or host name not resolved")
        if isinstance(error, bx.ConnectionClosedError):
            return f"{self.endpoint} closed the connection without answering"
        if isinstance(error, bx.ReadTimeoutError):
            return f"{self.endpoint} accepted the connection but sent no answer in time"
        if isinstance(error, bx.NoCredentialsError):
            return "no credentials: the DSN has no key pair and boto3 found none in the environment or a role"
        if isinstance(error, bx.ClientError):
            return self._client_error(error)
        if isinstance(error, bx.BotoCoreError):
            return f"{type(error).__name__}: {self.redact(str(error))}"
        return f"unexpected {type(error).__name__}: {self.redact(str(error))}"

    def _client_error(self, error: Any) -> str:
        info = error.response.get("Error", {})
        code = str(info.get("Code", "")) or str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?"))
        if code in _BAD_CREDENTIALS:
            return f"credentials rejected ({code}): {_BAD_CREDENTIALS[code]}"
        if code in ("AccessDenied", "403"):
            return (
                f"access denied ({code}): the credential is valid but has no right to do this on bucket "
                f"{self.bucket} (its identity policy, or a bucket policy that denies it)"
            )
        if code in ("NoSuchBucket", "404") and not info.get("Key"):
            return f"bucket {self.bucket} does not exist at {self.endpoint} ({code})"
        if code == "NoSuchKey":
            return f"the object is gone ({code})"
        if code == "AccessControlListNotSupported":
            return (
                f"the bucket has ACLs disabled and refuses the upload's ACL {self.parsed.effective_acl!r} ({code}); "
                "the DSN needs acl=bucket-owner-full-control"
            )
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return f"the bucket is in another region than the DSN says ({code})"
        message = self.redact(str(info.get("Message", "")))
        return f"S3 error {code}" + (f": {message}" if message else "")

    def public_refused_hint(self) -> str:
        """What makes S3 objects publicly readable in this design."""
        hint = "the bucket needs a policy allowing s3:GetObject to everyone (and no public access block against it)"
        if self.parsed.signed_urls:
            hint += "; this DSN asks for signed URLs (qs_auth=true): if it is the private store, pass --private-dsn"
        return hint

    def private_open_hint(self) -> str:
        """What makes S3 objects public by mistake."""
        return (
            "remove the public statement from the bucket policy and public-read object ACLs, "
            "and turn every public access block on"
        )


def _prefix(location: str) -> str:
    location = location.strip("/")
    return f"{location}/" if location else ""
