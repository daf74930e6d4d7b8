"""The DSN layer: exact formats, validation, masking, round trips, and django-storage-url as the oracle."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divio_storage_infra.core.dsn import (
    CANNED_ACLS,
    DEFAULT_ACL,
    DsnError,
    ParsedDsn,
    azure_dsn,
    azure_media_url,
    mask_dsn,
    parse_dsn,
    s3_dsn,
    s3_media_url,
)
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.regions import AWS_REGIONS, EXOSCALE_ZONES, aws_s3_host
from divio_storage_infra.core.rules import check_bucket_name, check_hostname

SECRET = "wJalr/K7+MDENG=bPx%Rfi:CY@EXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AZURE_KEY = base64.b64encode(bytes(range(200, 256)) + bytes(range(8))).decode()
SAS = "sv=2022-11-02&sr=c&sp=rl&se=2026-04-01T00%3A00%3A00Z&sig=k3Y%2Bq%2Fz9%3D"


def _configure_django() -> None:
    from django.conf import settings as django_settings  # type: ignore[import-untyped]

    if not django_settings.configured:
        django_settings.configure()


@pytest.fixture(scope="module", autouse=True)
def django_configured() -> None:
    _configure_django()


def oracle(dsn: str) -> Any:
    """django-storage-url's storage object for ``dsn``: what a Divio app would run."""
    import django_storage_url  # type: ignore[import-untyped]

    _configure_django()
    return django_storage_url.get_storage(dsn)


def query_keys(dsn: str) -> list[str]:
    return [part.partition("=")[0] for part in dsn.partition("?")[2].split("&") if part]


# --- exact formats -----------------------------------------------------------------------------------------------


def test_aws_dsn_is_exactly_the_contract_form() -> None:
    dsn = s3_dsn(
        bucket="site-live-media-1a2b3c4d",
        endpoint_host="s3.eu-central-1.amazonaws.com",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
    )
    assert dsn == (
        f"s3://{KEY_ID}:wJalr%2FK7%2BMDENG%3DbPx%25Rfi%3ACY%40EXAMPLEKEY"
        "@site-live-media-1a2b3c4d.s3.eu-central-1.amazonaws.com/?auth=s3v4&acl=bucket-owner-full-control"
    )


def test_exoscale_dsn_puts_the_bucket_before_the_zone_host_and_needs_no_region_name() -> None:
    dsn = s3_dsn(
        bucket="media",
        endpoint_host="sos-ch-gva-2.exo.io",
        access_key_id="EXOabc",
        secret_access_key="s",
        region="ch-gva-2",
    )
    assert dsn == "s3://EXOabc:s@media.sos-ch-gva-2.exo.io/?auth=s3v4&acl=bucket-owner-full-control"


def test_custom_domain_is_a_percent_encoded_query_value_after_acl() -> None:
    dsn = s3_dsn(bucket="media", endpoint_host="s3.us-east-1.amazonaws.com", custom_domain="media.example.com")
    assert (
        dsn == "s3://media.s3.us-east-1.amazonaws.com/?auth=s3v4&acl=bucket-owner-full-control&domain=media.example.com"
    )


def test_private_bucket_signs_urls_and_never_names_a_domain() -> None:
    dsn = s3_dsn(bucket="private", endpoint_host="s3.eu-west-1.amazonaws.com", signed_urls=True)
    assert dsn.endswith("?auth=s3v4&acl=bucket-owner-full-control&qs_auth=true")
    with pytest.raises(DsnError, match="custom_domain"):
        s3_dsn(
            bucket="private",
            endpoint_host="s3.eu-west-1.amazonaws.com",
            signed_urls=True,
            custom_domain="media.example.com",
        )


def test_generic_endpoint_gets_region_name_and_the_emulator_endpoint_url_encoded() -> None:
    dsn = s3_dsn(
        bucket="media",
        endpoint_host="objects.example.net",
        access_key_id="k",
        secret_access_key="s",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:5000",
    )
    assert dsn == (
        "s3://k:s@media.objects.example.net/?auth=s3v4&acl=bucket-owner-full-control"
        "&region_name=us-east-1&endpoint_url=http%3A%2F%2F127.0.0.1%3A5000"
    )
    assert query_keys(dsn) == ["auth", "acl", "region_name", "endpoint_url"]


def test_parameter_order_is_fixed() -> None:
    dsn = s3_dsn(
        bucket="media",
        endpoint_host="objects.example.net",
        signed_urls=True,
        region="r1",
        endpoint_url="http://localhost:9000",
    )
    assert query_keys(dsn) == ["auth", "acl", "qs_auth", "region_name", "endpoint_url"]


def test_aws_region_must_match_the_host_because_django_storage_url_ignores_region_name() -> None:
    same = s3_dsn(bucket="media", endpoint_host="s3.eu-central-1.amazonaws.com", region="eu-central-1")
    assert "region_name" not in same
    with pytest.raises(DsnError, match="region") as error:
        s3_dsn(bucket="media", endpoint_host="s3.eu-central-1.amazonaws.com", region="eu-west-1")
    assert "'eu-central-1'" in str(error.value)


@pytest.mark.parametrize(
    ("bucket", "endpoint_host", "why"),
    [
        ("media", "minio.internal:9000", "port"),
        ("my.media", "minio.internal", "would read"),
        ("media", "objects.rma.cloudscale.ch", "would read"),
        ("a.s3-b", "s3.eu-central-1.amazonaws.com", "would read"),
        ("media", "127.0.0.1", "would read"),
        ("Media", "s3.eu-central-1.amazonaws.com", "lowercase"),
        ("media", "https://s3.example.net", "scheme"),
    ],
)
def test_dsns_that_django_storage_url_would_misread_are_refused(bucket: str, endpoint_host: str, why: str) -> None:
    with pytest.raises(DsnError, match=why):
        s3_dsn(bucket=bucket, endpoint_host=endpoint_host)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"access_key_id": KEY_ID},
        {"secret_access_key": SECRET},
        {"access_key_id": "", "secret_access_key": SECRET},
        {"access_key_id": KEY_ID, "secret_access_key": ""},
        {"acl": "public"},
        {"region": "EU_1"},
        {"endpoint_url": "ftp://127.0.0.1:21"},
        {"endpoint_url": "http://127.0.0.1:5000?x=1"},
        {"endpoint_url": f"http://{KEY_ID}:{SECRET}@127.0.0.1:5000"},
        {"custom_domain": "https://media.example.com/"},
        {"access_key_id": KEY_ID, "secret_access_key": "bad\ud800" + SECRET},
    ],
)
def test_invalid_s3_values_raise_dsn_error_without_the_secret(kwargs: dict[str, Any]) -> None:
    with pytest.raises(DsnError) as error:
        s3_dsn(bucket="media", endpoint_host="s3.eu-central-1.amazonaws.com", **kwargs)
    assert isinstance(error.value, SpecError)
    assert str(error.value).startswith("invalid storage DSN: ")
    assert SECRET not in str(error.value)
    assert "EXAMPLEKEY" not in str(error.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(DsnError) as error:
        s3_dsn(bucket="A", endpoint_host="bad host", acl="nope")
    assert {p.field for p in error.value.problems} == {"bucket", "endpoint_host", "acl"}


def test_azure_dsn_with_account_key() -> None:
    dsn = azure_dsn(account="sitelive1a2b", container="public-media", account_key=AZURE_KEY)
    assert dsn == f"az://sitelive1a2b:{quote(AZURE_KEY, safe='')}@blob.core.windows.net/public-media"


def test_azure_dsn_with_sas_is_base64_of_the_query_string_and_drops_a_leading_question_mark() -> None:
    dsn = azure_dsn(
        account="sitelive1a2b", container="private-media", sas_token="?" + SAS, custom_domain="media.example.com"
    )
    encoded = quote(base64.b64encode(SAS.encode()).decode(), safe="")
    assert dsn == f"az://sitelive1a2b:{encoded}@blob.core.windows.net/private-media?domain=media.example.com"
    assert parse_dsn(dsn).sas_token == SAS


def test_azure_dsn_without_credential_keeps_the_account() -> None:
    dsn = azure_dsn(account="sitelive1a2b", container="public-media", endpoint_url="http://127.0.0.1:10000/acct")
    assert (
        dsn == "az://sitelive1a2b@blob.core.windows.net/public-media?endpoint_url=http%3A%2F%2F127.0.0.1%3A10000%2Facct"
    )
    parsed = parse_dsn(dsn)
    assert (parsed.credential_kind, parsed.secret, parsed.account) == (None, None, "sitelive1a2b")
    assert any("cannot read" in warning for warning in parsed.warnings)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"account_key": AZURE_KEY, "sas_token": SAS},
        {"account_key": "not base64!" + SECRET},
        {"account_key": base64.b64encode(SAS.encode()).decode()},
        {"sas_token": "sv=2022-11-02&sp=rl"},
        {"sas_token": SAS + "&x=é"},
        {"account_key": ""},
    ],
)
def test_invalid_azure_credentials_raise_without_the_secret(kwargs: dict[str, Any]) -> None:
    with pytest.raises(DsnError) as error:
        azure_dsn(account="acct", container="public-media", **kwargs)
    message = str(error.value)
    assert SECRET not in message and "k3Y" not in message
    for value in kwargs.values():
        assert not value or value not in message


@pytest.mark.parametrize(
    ("account", "container"),
    [("Acct", "media"), ("ab", "media"), ("acct", "Media"), ("acct", "me--dia"), ("acct", "m"), ("acct", "a" * 64)],
)
def test_invalid_azure_names(account: str, container: str) -> None:
    with pytest.raises(DsnError):
        azure_dsn(account=account, container=container)


def test_media_urls() -> None:
    assert s3_media_url("media", "s3.eu-central-1.amazonaws.com") == "https://media.s3.eu-central-1.amazonaws.com/"
    assert s3_media_url("media", "sos-ch-gva-2.exo.io", "media.example.com") == "https://media.example.com/"
    assert azure_media_url("acct", "public-media") == "https://acct.blob.core.windows.net/public-media/"
    assert azure_media_url("acct", "public-media", "cdn.example.com") == "https://cdn.example.com/public-media/"


# --- parsing -----------------------------------------------------------------------------------------------------


def test_parse_exoscale_dsn() -> None:
    parsed = parse_dsn(f"s3://EXOkey:{quote(SECRET, safe='')}@media.sos-ch-gva-2.exo.io/?auth=s3v4&acl={DEFAULT_ACL}")
    assert (parsed.scheme, parsed.cloud, parsed.bucket, parsed.endpoint_host, parsed.region) == (
        "s3",
        "exoscale",
        "media",
        "sos-ch-gva-2.exo.io",
        "ch-gva-2",
    )
    assert (parsed.access_key_id, parsed.secret) == ("EXOkey", SECRET)
    assert parsed.effective_endpoint_url == "https://sos-ch-gva-2.exo.io"
    assert parsed.media_url == "https://media.sos-ch-gva-2.exo.io/"
    assert parsed.warnings == ()


def test_parse_honours_endpoint_url() -> None:
    parsed = parse_dsn(
        s3_dsn(bucket="media", endpoint_host="s3.us-east-1.amazonaws.com", endpoint_url="http://127.0.0.1:5000")
    )
    assert parsed.endpoint_url == "http://127.0.0.1:5000"
    assert parsed.effective_endpoint_url == "http://127.0.0.1:5000"
    assert parsed.media_url == "http://127.0.0.1:5000/media/"
    assert any("endpoint_url" in warning for warning in parsed.warnings)


def test_parse_reports_django_storage_url_pitfalls_as_warnings() -> None:
    parsed = parse_dsn(
        "s3://k:s@media.s3.eu-west-1.amazonaws.com/?qs_auth=yes&domain=m.example.com&region_name=x1&foo=1"
    )
    assert parsed.acl is None and parsed.effective_acl == "public-read"
    assert parsed.signed_urls is True
    assert parsed.region == "eu-west-1" and parsed.region_name_ignored
    assert parsed.unknown_params == ("foo",)
    text = " ".join(parsed.warnings)
    for needle in ("no acl", "does not sign", "region_name is ignored", "unknown parameter(s) foo"):
        assert needle in text


def test_masked_replaces_only_the_secret() -> None:
    dsn = s3_dsn(
        bucket="media", endpoint_host="s3.eu-central-1.amazonaws.com", access_key_id=KEY_ID, secret_access_key=SECRET
    )
    parsed = parse_dsn(dsn)
    assert parsed.masked() == (
        f"s3://{KEY_ID}:***@media.s3.eu-central-1.amazonaws.com/?auth=s3v4&acl=bucket-owner-full-control"
    )
    assert SECRET not in repr(parsed) and quote(SECRET, safe="") not in repr(parsed)
    azure = parse_dsn(azure_dsn(account="acct", container="public-media", sas_token=SAS))
    assert azure.masked() == "az://acct:***@blob.core.windows.net/public-media"
    assert "k3Y" not in repr(azure)


ENC = quote(SECRET, safe="")


@pytest.mark.parametrize(
    "dsn",
    [
        f"s3://{KEY_ID}:{SECRET}@media.s3.eu-central-1.amazonaws.com/",  # raw '/', '@', '%'
        f"s3://{KEY_ID}:abc#{ENC}@media.s3.eu-central-1.amazonaws.com/",
        f"s3://{KEY_ID}:abc?{ENC}@media.s3.eu-central-1.amazonaws.com/",
        f"s3://{KEY_ID}:{ENC}@media/",
        f"s3://{KEY_ID}:{ENC}@media.s3.eu-central-1.amazonaws.com:99999/",
        f"s3://{KEY_ID}:{ENC}@media.s3.eu-central-1.amazonaws.com/?acl=public",
        f"s3://{KEY_ID}:{ENC}@media.s3.eu-central-1.amazonaws.com/?qs_auth=maybe",
        f"s3://{KEY_ID}:{ENC}@media.s3.eu-central-1.amazonaws.com/?acl={DEFAULT_ACL}&acl={DEFAULT_ACL}",
        f"s3://{KEY_ID}:{ENC}@media.s3.eu-central-1.amazonaws.com/?domain",
        f"s3://{KEY_ID}:{ENC}@media.s3.eu-central-1.amazonaws.com/?endpoint_url=ftp%3A%2F%2Fx",
        f"s3://{KEY_ID}@media.s3.eu-central-1.amazonaws.com/",
        f"s3://:{ENC}@media.s3.eu-central-1.amazonaws.com/",
        f"s3://{KEY_ID}:{ENC}%ff@media.s3.eu-central-1.amazonaws.com/",
        f"s3://{KEY_ID}:{ENC}@bücket.s3.eu-central-1.amazonaws.com/",
        f"gs://{KEY_ID}:{ENC}@media.storage.googleapis.com/",
        f"az://{ENC}@blob.core.windows.net/public-media",
        f"az://acct:{ENC}@blob.core.windows.net/public-media",  # not base64: padding is off
        f"az://acct:{ENC}@blob.core.windows.net/",
        "az://acct:@blob.core.windows.net/public-media",
        f"{KEY_ID}:{SECRET}",
        SECRET,
    ],
)
def test_malformed_dsns_raise_dsn_error_without_the_secret(dsn: str) -> None:
    with pytest.raises(DsnError) as error:
        parse_dsn(dsn)
    message = str(error.value)
    assert message.startswith("invalid storage DSN: ")
    assert "\n" not in message
    for fragment in (SECRET, ENC, "EXAMPLEKEY", "K7", "MDENG"):
        assert fragment not in message


def test_mask_dsn_hides_everything_that_may_be_secret() -> None:
    assert mask_dsn(f"s3://{KEY_ID}:{SECRET}@h.s3.x/") == f"s3://{KEY_ID}:***@h.s3.x/"
    assert mask_dsn(f"s3://{KEY_ID}:{ENC}") == f"s3://{KEY_ID}:***"
    assert mask_dsn("s3://bucket.host:9000/") == "s3://bucket.host:9000/"
    assert mask_dsn(SECRET) == f"<{len(SECRET)} characters, not a URL>"


# Forms django-storage-url reads (hand-written, not from our formatter): our parser must read them the same way.
ORACLE_FORMS = [
    f"s3://k:{ENC}@media.s3.eu-central-1.amazonaws.com/?auth=s3v4&acl={DEFAULT_ACL}",
    f"s3://k:{ENC}@media.s3.amazonaws.com/",
    f"s3://k:{ENC}@media.s3-eu-west-1.amazonaws.com/?acl=private&qs_auth=1",
    f"s3://k:{ENC}@my.media.s3.dualstack.us-east-2.amazonaws.com/",
    f"s3://k:{ENC}@media.s3-fips.us-gov-west-1.amazonaws.com/",
    f"s3://k:{ENC}@media.s3.cn-north-1.amazonaws.com.cn/",
    f"s3://k:{ENC}@media.sos-ch-gva-2.exo.io/?auth=s3v4&acl={DEFAULT_ACL}&domain=media.example.com",
    f"s3://k:{ENC}@media.sos-de-fra-1.exo.io/some/prefix/?qs_auth=true&auth=s3v4",
    f"s3://k:{ENC}@media.objects.example.net/?region_name=rma&addressing_style=virtual",
    f"s3://k:{ENC}@media.s3.example.net/?region_name=ignored",
    f"s3://k:{ENC}@media.s3-control.eu-west-1.amazonaws.com/",
    f"s3://k:{ENC}@media.minio.local/?url=http%3A%2F%2Fcdn.example.com%2Fx",
    f"S3://k:{ENC}@MEDIA.sos-ch-gva-2.EXO.io/",
    "s3://media.s3.eu-central-1.amazonaws.com/?unknown=1",
]


@pytest.mark.parametrize("dsn", ORACLE_FORMS)
def test_parser_reads_s3_forms_as_django_storage_url_does(dsn: str) -> None:
    parsed = parse_dsn(dsn)
    storage = oracle(dsn)
    assert parsed.bucket == storage.bucket_name
    assert parsed.region == storage.region_name
    assert f"https://{parsed.endpoint_host}/" == storage.endpoint_url
    assert (parsed.access_key_id or "", parsed.secret or "") == (storage.access_key, storage.secret_key)
    assert parsed.custom_domain == storage.custom_domain
    assert parsed.url_protocol == storage.url_protocol
    assert {"ACL": parsed.effective_acl} == storage.object_parameters
    assert parsed.signed_urls == storage.querystring_auth
    assert parsed.addressing_style == storage.addressing_style
    assert parsed.auth == storage.signature_version
    assert parsed.location == storage.location


AZURE_ORACLE_FORMS = [
    f"az://acct:{quote(AZURE_KEY, safe='')}@blob.core.windows.net/public-media",
    f"az://acct:{quote(AZURE_KEY.rstrip('='), safe='')}@blob.core.windows.net/public-media/",  # unpadded
    f"az://acct:{quote(base64.b64encode(SAS.encode()).decode(), safe='')}@blob.core.windows.net/private-media",
    f"az://acct:{quote(AZURE_KEY, safe='')}@blob.core.windows.net/public-media?domain=media.example.com",
    f"az://acct:{quote(AZURE_KEY, safe='')}@blob.core.windows.net/public-media?url=http%3A%2F%2Fcdn.example.com",
    f"az://acct:{base64.b64encode(b'plain-ascii-key-without-sig').decode()}@blob.core.windows.net/media",
]


@pytest.mark.parametrize("dsn", AZURE_ORACLE_FORMS)
def test_parser_reads_azure_forms_as_django_storage_url_does(dsn: str) -> None:
    parsed = parse_dsn(dsn)
    storage = oracle(dsn)
    assert parsed.account == storage.account_name
    assert parsed.container == storage.azure_container
    assert parsed.account_key == storage.account_key
    assert parsed.sas_token == storage.sas_token
    assert parsed.credential_kind == ("sas" if storage.sas_token else "account-key")
    assert parsed.media_url == storage.base_url
    assert (parsed.url_protocol == "https:") == storage.azure_ssl


# --- django-storage-url reads what we export -----------------------------------------------------------------------


def test_oracle_reads_exoscale_dsn() -> None:
    dsn = s3_dsn(bucket="media", endpoint_host="sos-ch-gva-2.exo.io", access_key_id="EXOk", secret_access_key=SECRET)
    storage = oracle(dsn)
    assert (storage.bucket_name, storage.region_name, storage.endpoint_url) == (
        "media",
        "ch-gva-2",
        "https://sos-ch-gva-2.exo.io/",
    )
    assert (storage.access_key, storage.secret_key) == ("EXOk", SECRET)
    assert storage.object_parameters == {"ACL": DEFAULT_ACL}
    assert storage.querystring_auth is False
    assert storage.custom_domain is None


def test_oracle_reads_aws_dsn_and_builds_the_public_url() -> None:
    dsn = s3_dsn(
        bucket="media",
        endpoint_host="s3.eu-central-1.amazonaws.com",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        custom_domain="media.example.com",
    )
    storage = oracle(dsn)
    assert (storage.bucket_name, storage.region_name, storage.endpoint_url) == (
        "media",
        "eu-central-1",
        "https://s3.eu-central-1.amazonaws.com/",
    )
    assert storage.secret_key == SECRET
    assert storage.custom_domain == "media.example.com"
    assert (
        storage.url("a b.jpg")
        == s3_media_url("media", "s3.eu-central-1.amazonaws.com", "media.example.com") + "a%20b.jpg"
    )


def test_oracle_reads_generic_region_name() -> None:
    dsn = s3_dsn(bucket="media", endpoint_host="objects.example.net", region="eu-1")
    storage = oracle(dsn)
    assert (storage.region_name, storage.endpoint_url, storage.access_key) == (
        "eu-1",
        "https://objects.example.net/",
        "",
    )


def test_oracle_reads_private_dsn() -> None:
    storage = oracle(s3_dsn(bucket="private", endpoint_host="s3.eu-west-1.amazonaws.com", signed_urls=True))
    assert storage.querystring_auth is True
    assert storage.custom_domain is None


def test_oracle_reads_azure_key_and_sas() -> None:
    key_dsn = azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY, custom_domain="m.example.com")
    storage = oracle(key_dsn)
    assert (storage.account_name, storage.account_key, storage.sas_token) == ("acct", AZURE_KEY, None)
    assert storage.azure_container == "public-media"
    assert storage.base_url == azure_media_url("acct", "public-media", "m.example.com")
    assert storage.url("a b.jpg") == "https://m.example.com/public-media/a%20b.jpg"

    sas_storage = oracle(azure_dsn(account="acct", container="private-media", sas_token=SAS))
    assert (sas_storage.account_key, sas_storage.sas_token) == (None, SAS)
    assert sas_storage.base_url == azure_media_url("acct", "private-media")


# --- properties --------------------------------------------------------------------------------------------------

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
PLAIN_BUCKET = st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True).filter(
    lambda b: check_bucket_name(b) is None
)
DOTTED_BUCKET = (
    st.lists(LABEL, min_size=2, max_size=4)
    .map(".".join)
    .filter(lambda b: check_bucket_name(b) is None and ".s3" not in b)
)
SECRETS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)) | st.sampled_from("/+=%:@&?#"),
    min_size=1,
    max_size=40,
)
KEY_IDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)) | st.sampled_from("/+=%:@"),
    min_size=1,
    max_size=24,
).filter(str.strip)
DOMAINS = st.lists(LABEL, min_size=2, max_size=4).map(".".join).filter(lambda d: check_hostname(d) is None)
REGIONS = st.from_regex(r"[a-z]{2}-[a-z]{3,8}-[0-9]", fullmatch=True)
ENDPOINT_URLS = st.none() | st.builds(
    lambda host, port, path: f"http://{host}:{port}{path}",
    st.sampled_from(["127.0.0.1", "localhost"]),
    st.integers(1, 65535),
    st.sampled_from(["", "/", "/devstoreaccount1"]),
)
NOT_S3 = LABEL.filter(lambda label: not label.startswith("s3"))


@st.composite
def s3_targets(draw: st.DrawFn) -> tuple[str, str, str | None, str | None]:
    """(bucket, endpoint_host, region argument, expected region) that django-storage-url can always read."""
    kind = draw(st.sampled_from(["aws", "exoscale", "generic3", "generic2"]))
    region: str | None
    if kind == "aws":
        aws_region = draw(st.sampled_from(sorted(AWS_REGIONS)))
        bucket = draw(PLAIN_BUCKET | DOTTED_BUCKET)
        return bucket, aws_s3_host(aws_region), draw(st.none() | st.just(aws_region)), aws_region
    if kind == "exoscale":
        zone = draw(st.sampled_from(sorted(EXOSCALE_ZONES)))
        return draw(PLAIN_BUCKET | DOTTED_BUCKET), f"sos-{zone}.exo.io", draw(st.none() | st.just(zone)), zone
    if kind == "generic3":
        first = draw(NOT_S3)
        host = f"{first}.{draw(NOT_S3)}.{draw(NOT_S3)}"
        region = draw(st.none() | REGIONS)
        return draw(PLAIN_BUCKET | DOTTED_BUCKET), host, region, region or first.partition("-")[2] or None
    first = draw(NOT_S3)
    region = draw(st.none() | REGIONS)
    return draw(PLAIN_BUCKET), f"{first}.{draw(NOT_S3)}", region, region or first.partition("-")[2] or None


@st.composite
def s3_cases(draw: st.DrawFn) -> dict[str, Any]:
    bucket, host, region, expected_region = draw(s3_targets())
    signed = draw(st.booleans())
    credentials = draw(st.none() | st.tuples(KEY_IDS, SECRETS))
    return {
        "kwargs": {
            "bucket": bucket,
            "endpoint_host": host,
            "access_key_id": credentials[0] if credentials else None,
            "secret_access_key": credentials[1] if credentials else None,
            "custom_domain": None if signed else draw(st.none() | DOMAINS),
            "signed_urls": signed,
            "acl": draw(st.sampled_from(sorted(CANNED_ACLS))),
            "region": region,
            "endpoint_url": draw(ENDPOINT_URLS),
        },
        "region": expected_region,
    }


@settings(max_examples=150, deadline=None)
@given(s3_cases())
def test_s3_round_trip(case: dict[str, Any]) -> None:
    kw = case["kwargs"]
    dsn = s3_dsn(**kw)
    assert dsn == s3_dsn(**kw)
    assert re.fullmatch(r"[\x21-\x7e]+", dsn), "every byte outside the URL alphabet is percent-encoded"
    parsed = parse_dsn(dsn)
    assert (parsed.scheme, parsed.bucket, parsed.endpoint_host, parsed.region) == (
        "s3",
        kw["bucket"],
        kw["endpoint_host"],
        case["region"],
    )
    assert (parsed.access_key_id, parsed.secret) == (kw["access_key_id"], kw["secret_access_key"])
    assert (parsed.custom_domain, parsed.signed_urls, parsed.acl, parsed.auth) == (
        kw["custom_domain"],
        kw["signed_urls"],
        kw["acl"],
        "s3v4",
    )
    assert parsed.endpoint_url == kw["endpoint_url"]
    assert (parsed.location, parsed.unknown_params, parsed.region_name_ignored) == ("", (), False)
    if kw["secret_access_key"] is not None:
        encoded = f"{quote(kw['access_key_id'], safe='')}:{quote(kw['secret_access_key'], safe='')}@"
        assert parsed.masked() == dsn.replace(encoded, f"{quote(kw['access_key_id'], safe='')}:***@", 1)
    else:
        assert parsed.masked() == dsn
    if kw["custom_domain"] is None and kw["endpoint_url"] is None:
        assert parsed.media_url == s3_media_url(kw["bucket"], kw["endpoint_host"])


@settings(max_examples=50, deadline=None)
@given(s3_cases())
def test_django_storage_url_reads_every_exported_s3_dsn(case: dict[str, Any]) -> None:
    kw = case["kwargs"]
    storage = oracle(s3_dsn(**kw))
    assert storage.bucket_name == kw["bucket"]
    assert (storage.access_key, storage.secret_key) == (kw["access_key_id"] or "", kw["secret_access_key"] or "")
    assert storage.region_name == case["region"]
    assert storage.endpoint_url == f"https://{kw['endpoint_host']}/"
    assert storage.custom_domain == kw["custom_domain"]
    assert storage.object_parameters == {"ACL": kw["acl"]}
    assert storage.querystring_auth is kw["signed_urls"]


ANY_BUCKET = st.lists(LABEL | st.sampled_from(["s3", "s3-x", "sos-a-b"]), min_size=1, max_size=4).map(".".join)
ANY_HOST = st.builds(
    lambda labels, port: ".".join(labels) + port,
    st.lists(LABEL | st.sampled_from(["s3", "s3-eu-1", "amazonaws", "control", "dualstack"]), min_size=1, max_size=5),
    st.sampled_from(["", "", "", ":9000"]),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(ANY_BUCKET.filter(lambda b: check_bucket_name(b) is None), ANY_HOST, st.none() | REGIONS)
def test_formatter_refuses_rather_than_export_a_misread_dsn(bucket: str, host: str, region: str | None) -> None:
    try:
        dsn = s3_dsn(bucket=bucket, endpoint_host=host, region=region)
    except DsnError as error:
        assert {p.field for p in error.problems} <= {"endpoint_host", "region"}
        return
    parsed = parse_dsn(dsn)
    storage = oracle(dsn)
    assert storage.bucket_name == parsed.bucket == bucket
    assert storage.endpoint_url == f"https://{parsed.endpoint_host}/" == f"https://{host}/"
    assert storage.region_name == parsed.region
    if region is not None:
        assert parsed.region == region


ACCOUNTS = st.from_regex(r"[a-z0-9]{3,24}", fullmatch=True)
CONTAINERS = st.from_regex(r"[a-z0-9](?:-?[a-z0-9]){2,30}", fullmatch=True)
ACCOUNT_KEYS = st.binary(min_size=1, max_size=64).map(lambda raw: base64.b64encode(raw).decode())
SAS_TOKENS = st.builds(
    lambda perms, day, sig, extra, prefix: (
        prefix
        + urlencode({"sv": "2022-11-02", "sr": "c", "sp": perms, "se": f"2026-01-{day:02d}T00:00:00Z", **extra})
        + "&sig="
        + quote(base64.b64encode(sig).decode(), safe="")
    ),
    st.sampled_from(["r", "rl", "racwdl"]),
    st.integers(1, 28),
    st.binary(min_size=1, max_size=32),
    st.dictionaries(st.sampled_from(["spr", "st", "skoid"]), st.text(min_size=1, max_size=8)),
    st.sampled_from(["", "?"]),
)


@st.composite
def azure_cases(draw: st.DrawFn) -> dict[str, Any]:
    credential = draw(st.sampled_from(["account-key", "sas", None]))
    return {
        "account": draw(ACCOUNTS),
        "container": draw(CONTAINERS),
        "account_key": draw(ACCOUNT_KEYS) if credential == "account-key" else None,
        "sas_token": draw(SAS_TOKENS) if credential == "sas" else None,
        "custom_domain": draw(st.none() | DOMAINS),
        "endpoint_url": draw(ENDPOINT_URLS),
    }


def _assume_key_reads_as_key(kw: dict[str, Any]) -> bool:
    """Random bytes can decode to ASCII text with a sig parameter, which the formatter rightly refuses."""
    key = kw["account_key"]
    if key is None:
        return True
    try:
        text = base64.b64decode(key).decode("ascii")
    except UnicodeDecodeError:
        return True
    return "sig=" not in text


@settings(max_examples=150, deadline=None)
@given(azure_cases().filter(_assume_key_reads_as_key))
def test_azure_round_trip(kw: dict[str, Any]) -> None:
    dsn = azure_dsn(**kw)
    assert re.fullmatch(r"[\x21-\x7e]+", dsn)
    parsed = parse_dsn(dsn)
    sas = kw["sas_token"].removeprefix("?") if kw["sas_token"] else None
    assert (parsed.scheme, parsed.account, parsed.container, parsed.endpoint_host) == (
        "az",
        kw["account"],
        kw["container"],
        "blob.core.windows.net",
    )
    assert (parsed.account_key, parsed.sas_token) == (kw["account_key"], sas)
    assert parsed.credential_kind == ("account-key" if kw["account_key"] else "sas" if sas else None)
    assert parsed.secret == (kw["account_key"] or sas)
    assert (parsed.custom_domain, parsed.endpoint_url) == (kw["custom_domain"], kw["endpoint_url"])
    assert "***" in parsed.masked() if parsed.secret else parsed.masked() == dsn
    if kw["endpoint_url"] is None:
        assert parsed.media_url == azure_media_url(kw["account"], kw["container"], kw["custom_domain"])


@settings(max_examples=50, deadline=None)
@given(azure_cases().filter(lambda kw: kw["account_key"] or kw["sas_token"]).filter(_assume_key_reads_as_key))
def test_django_storage_url_reads_every_exported_azure_dsn(kw: dict[str, Any]) -> None:
    storage = oracle(azure_dsn(**kw))
    assert storage.account_name == kw["account"]
    assert storage.azure_container == kw["container"]
    assert storage.account_key == kw["account_key"]
    assert storage.sas_token == (kw["sas_token"].removeprefix("?") if kw["sas_token"] else None)
    assert storage.base_url == azure_media_url(kw["account"], kw["container"], kw["custom_domain"])


URLISH = st.text(alphabet="abcs3.-:@/?#&=%+019AZé ", max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["s3://", "az://", "S3://", "", "s3:/"]), URLISH)
def test_parse_dsn_raises_only_dsn_error(prefix: str, rest: str) -> None:
    try:
        parsed = parse_dsn(prefix + rest)
    except DsnError:
        return
    assert isinstance(parsed, ParsedDsn)
    assert parsed.masked().lower().startswith(("s3://", "az://"))


MARKER = "Zx9Qv7"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["s3", "az"]), st.text(max_size=20) | URLISH, URLISH)
def test_the_secret_never_shows_in_errors_or_masked_output(scheme: str, suffix: str, tail: str) -> None:
    dsn = f"{scheme}://acct:{MARKER}{suffix}@{tail}"
    try:
        parsed = parse_dsn(dsn)
    except DsnError as error:
        assert MARKER.lower() not in str(error).lower()
        return
    assert MARKER not in parsed.masked()
    assert MARKER not in repr(parsed)
