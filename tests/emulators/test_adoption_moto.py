"""A legacy bucket (ACLs enabled, public objects through per-object public-read ACLs) adopted and migrated on the
moto server, by applying the declared resources in their dependency order: at every step each public object
stays anonymously readable, each private one refused, and no object is lost.

moto does not enforce ownership controls or public access blocks. The test plays them: from the step that
applies BucketOwnerEnforced, or an access block that ignores public ACLs, every object's ACL is set to private, so
that reads depend on the bucket policy alone, as they do on S3 from that step on. Their other effects are asserted
on the declared inputs (tests/components/test_adoption_rotation.py). moto lets anonymous callers list a bucket
whatever its ACL says, so the end of listing (the bucket ACL reset to private) is asserted on the ACL's grants.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from support.emulators import Emulator, s3_client, s3_target

from divio_storage_infra.core.adoption import SECURE_ORDER
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.applier import dependency_order
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import declare_website
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource

pytestmark = pytest.mark.emulator

REGION = "eu-central-1"
PUBLIC = ("media/2019/logo.png", "media/avatars/anna.jpg", "thumbs/logo-100x100.png")
PRIVATE = ("private/invoices/2024-001.pdf", "exports/users.csv", "media-backup.tar")


def legacy_bucket(moto: Emulator) -> str:
    """A bucket as sites created it years ago: ObjectWriter, a public-read bucket ACL, object ACLs deciding."""
    name = f"legacy-{uuid.uuid4().hex[:10]}"
    client = s3_client(moto.url)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    client.put_bucket_acl(Bucket=name, ACL="public-read")
    client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "owner", "Value": "legacy-team"}]})
    for key in PUBLIC:
        client.put_object(Bucket=name, Key=key, Body=f"public {key}".encode(), ACL="public-read")
    for key in PRIVATE:
        client.put_object(Bucket=name, Key=key, Body=f"private {key}".encode(), ACL="private")
    return name


def visibility_problems(moto: Emulator, bucket: str) -> list[str]:
    """Every object whose anonymous GET does not answer as before the migration."""
    problems = []
    for key, want in [*((k, 200) for k in PUBLIC), *((k, 403) for k in PRIVATE)]:
        got = requests.get(f"{moto.url}/{bucket}/{key}", timeout=5).status_code
        if got != want:
            problems.append(f"{key}: {got}, was {want}")
    return problems


def listing(moto: Emulator, bucket: str) -> list[tuple[str, str]]:
    objects = s3_client(moto.url).list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted((o["Key"], o["ETag"]) for o in objects)


def declare_adoption(bucket: str) -> Declared:
    spec = StorageSpec.from_dict(
        {
            "website": "legacy",
            "environment": "live",
            "region": REGION,
            "adopt": True,
            "bucketName": bucket,
            "publicPrefixes": ["media/", "thumbs/"],
        }
    )
    return declare_website(spec)


def acls_stop_counting(resource: DeclaredResource) -> bool:
    """From this step on, S3 ignores object ACLs (moto does not: the test plays it)."""
    if resource.type.endswith("BucketOwnershipControls"):
        return bool(resource.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced")
    if resource.type.endswith("BucketPublicAccessBlock"):
        return bool(resource.inputs["ignorePublicAcls"])
    return False


def migrate(moto: Emulator, bucket: str, declared: Declared, order: list[DeclaredResource]) -> list[str]:
    """Apply ``order`` one resource at a time; the visibility problems after each step, by step."""
    client = s3_client(moto.url)
    seen: list[str] = []
    state = {"acls": True}

    def after(resource: DeclaredResource) -> None:
        if state["acls"] and acls_stop_counting(resource):
            state["acls"] = False
            for key in (*PUBLIC, *PRIVATE):
                client.put_object_acl(Bucket=bucket, Key=key, ACL="private")
        seen.extend(f"after {resource.name}: {p}" for p in visibility_problems(moto, bucket))

    apply_aws(declared, s3_target(moto), resources=order, after_each=after)
    return seen


def test_adopting_a_legacy_bucket_keeps_every_object_as_visible_as_it_was(moto: Emulator) -> None:
    bucket = legacy_bucket(moto)
    before = listing(moto, bucket)
    assert visibility_problems(moto, bucket) == []
    declared = declare_adoption(bucket)
    order = dependency_order(declared.resources)
    applied = [r.name.removeprefix("legacy-live-media-") for r in order if r.name.startswith("legacy-live-media-")]
    assert applied == ["policy", "acl", "ownership", "public-access", "encryption", "versioning", "lifecycle"]

    assert migrate(moto, bucket, declared, order) == []

    assert listing(moto, bucket) == before, "an object was lost or changed"
    client = s3_client(moto.url)
    # The secure layout is in place: ACLs disabled, the bucket's own ACL private, its tags as they were.
    assert client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    grants = client.get_bucket_acl(Bucket=bucket)["Grants"]
    assert all(g["Grantee"].get("URI") is None for g in grants), grants
    assert client.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "owner", "Value": "legacy-team"}]


def test_the_secure_order_would_hide_public_objects_for_a_while(moto: Emulator) -> None:
    """The proof above bites: the order of a new bucket (ownership first) makes public objects private until the
    policy arrives."""
    bucket = legacy_bucket(moto)
    declared = declare_adoption(bucket)

    def rank(resource: DeclaredResource) -> tuple[bool, int]:
        step = resource.name.rsplit("-", 1)[-1]
        return resource.type != "aws:s3/bucket:Bucket", SECURE_ORDER.index(step) if step in SECURE_ORDER else -1

    # The bucket first, then its configuration in the order of a new bucket (no bucket ACL step there).
    bucket_first = sorted((r for r in declared.resources if r.custom and not r.name.endswith("-acl")), key=rank)
    problems = migrate(moto, bucket, declared, bucket_first)
    assert problems, "ownership before policy should have hidden the public objects"
    assert all(
        p.startswith(("after legacy-live-media-ownership", "after legacy-live-media-public-access")) for p in problems
    )
    assert {p.split(": ")[1] for p in problems} == set(PUBLIC)
