"""Generated Pulumi projects for the benchmark: the library's platform program and the raw baseline.

Both are projects named ``bench-platform`` (so their URNs agree) in a directory of their own. The library project
runs :func:`divio_storage_infra.platform.main` on ``websites.yaml``; the raw project runs ``raw_program.py`` on
``websites.json``, whose values are computed here with the library's pure core, once, outside the timed run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from divio_storage_infra.core import markers, naming, policies
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.dsn import s3_dsn, s3_media_url
from divio_storage_infra.core.registry import validate_registry
from divio_storage_infra.core.validation.durability import lifecycle_rules
from divio_storage_infra.platform import output_name

PROJECT = "bench-platform"
_PULUMI_YAML = f"name: {PROJECT}\nruntime: python\n"
_LIBRARY_MAIN = (
    '"""The library\'s platform program on the generated websites.yaml."""\n\n'
    "from pathlib import Path\n\n"
    "from divio_storage_infra.platform import main\n\n"
    'main(Path(__file__).resolve().with_name("websites.yaml"))\n'
)
_KEY, _SECRET = "KEYPLACEHOLDER", "SECRETPLACEHOLDER"


def registry(count: int) -> dict[str, Any]:
    """A registry of ``count`` AWS websites, each with a private bucket, an IAM user and two CORS origins."""
    return {
        "defaults": {"cloud": "aws", "region": "eu-central-1", "credentials": "iam-user", "privateStorage": True},
        "websites": [
            {
                "website": f"site-{i:04d}",
                "environment": "live",
                "corsOrigins": [f"https://site-{i:04d}.example.com", f"https://www.site-{i:04d}.example.com"],
            }
            for i in range(count)
        ],
    }


def write_library(directory: Path, count: int) -> Path:
    """The library's platform project for ``count`` websites in ``directory`` (created); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(_PULUMI_YAML)
    (directory / "__main__.py").write_text(_LIBRARY_MAIN)
    (directory / "websites.yaml").write_text(yaml.safe_dump(registry(count), sort_keys=False))
    return directory


def write_raw(directory: Path, count: int) -> Path:
    """The raw baseline project for ``count`` websites in ``directory`` (created); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(_PULUMI_YAML)
    shutil.copyfile(Path(__file__).with_name("raw_program.py"), directory / "__main__.py")
    (directory / "websites.json").write_text(json.dumps(raw_values(count), indent=1))
    return directory


PLAIN_LOOP = "for website in _websites():"
"""The raw program's loop without the plan's hook: every website in one run, as a plain Pulumi program."""


def write_plain(directory: Path, count: int) -> Path:
    """The raw baseline as a plain program (no ``planblocks`` hook: ``plan`` runs it once over every website)."""
    write_raw(directory, count)
    program = directory / "__main__.py"
    text = program.read_text()
    hooked = 'for website in planblocks.entries(_websites, lambda site: str(site["output"])):'
    if hooked not in text:
        raise RuntimeError("benchmarks/raw_program.py no longer has the loop write_plain replaces")
    program.write_text(text.replace(hooked, PLAIN_LOOP))
    return directory


def raw_values(count: int) -> dict[str, Any]:
    """Every value the raw program declares, computed with the library's core as the components compute them."""
    websites = []
    for entry in validate_registry(registry(count), source="generated").entries:
        spec = entry.spec
        caps = capabilities(spec.cloud)
        region = spec.region or ""
        host = caps.endpoint_host(region, spec.endpoint)
        if not (caps.ownership_controls and caps.bucket_policy and spec.versioning and spec.private_storage):
            raise ValueError("the raw baseline mirrors AWS websites with versioning and a private bucket only")
        names = {role: naming.bucket_name(spec, role) for role in ("media", "private")}
        site: dict[str, Any] = {
            "name": entry.logical_name,
            "output": output_name(spec),
            "region": region,
            "user": naming.iam_user_name(spec),
            "tags": spec.tag_map,
            "user_policy": policies.to_json(policies.access_policy(list(names.values()), region)),
            "media_url": s3_media_url(names["media"], host, spec.media_domain),
            "lifecycle": [
                {
                    key: value
                    for key, value in (
                        ("id", rule.id),
                        ("abort", rule.abort_incomplete_multipart_upload_days),
                        ("noncurrent", rule.noncurrent_version_expiration_days),
                        ("delete_marker", rule.expired_object_delete_marker),
                    )
                    if value is not None
                }
                for rule in lifecycle_rules(
                    versioning=True,
                    noncurrent_days=spec.noncurrent_version_expiration_days,
                    abort_days=spec.abort_incomplete_multipart_upload_days,
                )
            ],
            "cors": {
                "methods": ["GET", "HEAD"],
                "origins": list(spec.cors_origins),
                "headers": ["Range"],
                "max_age": spec.cors_max_age_seconds,
            },
        }
        if spec.allow_uploads:
            raise ValueError("the raw baseline mirrors websites without uploads only")
        for role, public in (("media", True), ("private", False)):
            name = names[role]
            document = (
                policies.public_bucket_policy(name, region) if public else policies.private_bucket_policy(name, region)
            )
            dsn = s3_dsn(
                bucket=name,
                access_key_id=_KEY,
                secret_access_key=_SECRET,
                custom_domain=None if not public else spec.media_domain,
                signed_urls=not public,
                acl=caps.object_acl(public=public),
                endpoint_host=host,
                region=region if caps.region_in_dsn else None,
                path_style=caps.path_style,
            )
            site[role] = {
                "bucket": name,
                "arn": policies.bucket_arn(name, region),
                "tags": markers.store_tags(spec, public=public),
                "policy": policies.to_json(document),
                "dsn": dsn.replace(_KEY, "{key}").replace(_SECRET, "{secret}"),
            }
        websites.append(site)
    return {"websites": websites}


def fleet_registry(count: int) -> dict[str, Any]:
    """A registry of ``count`` AWS websites as a large fleet has them: each with a private bucket, an IAM user, two
    CORS origins, a media domain and tags of its own (merged with the defaults' tags)."""
    return {
        "defaults": {
            "cloud": "aws",
            "region": "eu-central-1",
            "credentials": "iam-user",
            "privateStorage": True,
            "tags": {"team": "web-platform"},
        },
        "websites": [
            {
                "website": f"site-{i:05d}",
                "environment": "live",
                "mediaDomain": f"media.site-{i:05d}.example.com",
                "tags": {"customer": f"c{i:05d}", "tier": ("gold", "silver", "bronze")[i % 3]},
                "corsOrigins": [f"https://site-{i:05d}.example.com", f"https://www.site-{i:05d}.example.com"],
            }
            for i in range(count)
        ],
    }


def write_fleet(directory: Path, count: int) -> Path:
    """The library's platform project for a fleet of ``count`` websites (:func:`fleet_registry`); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(_PULUMI_YAML)
    (directory / "__main__.py").write_text(_LIBRARY_MAIN)
    (directory / "websites.yaml").write_text(yaml.safe_dump(fleet_registry(count), sort_keys=False))
    return directory
