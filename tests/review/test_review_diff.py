"""The review diff on hand-made plan pairs: each danger class, changes that are not dangerous, grouping,
aliases, secrets, replacement detection per type and the Markdown/JSON renderings."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from support.plans import edited, policy, resource, set_policy, snapshot, without

from divio_storage_infra.review.danger import (
    CORS_WIDENED,
    CREDENTIALS_WIDENED,
    DATA_LOSS,
    PROTECTION_OFF,
    PUBLIC_ACCESS,
    Finding,
    find_dangers,
)
from divio_storage_infra.review.model import OTHER_GROUP, PlanDiff, diff_plans
from divio_storage_infra.review.plans import plan_from_document
from divio_storage_infra.review.render import NO_CHANGES, render_json, render_markdown
from divio_storage_infra.review.repository import affected_websites

AWS = "example-live"
AZURE = "example-azure-live"


def review(base: dict[str, Any], head: dict[str, Any]) -> tuple[PlanDiff, list[Finding], str, str]:
    diff = diff_plans(plan_from_document(base), plan_from_document(head))
    findings = find_dangers(diff)
    return diff, findings, render_markdown(diff, findings), render_json(diff, findings)


def classes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.danger, f.name) for f in findings]


# --- no change ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [AWS, AZURE, "example-exoscale-live"])
def test_identical_plans_print_no_changes(stack: str) -> None:
    diff, findings, markdown, as_json = review(snapshot(stack), snapshot(stack))
    assert markdown.startswith(NO_CHANGES)
    assert findings == []
    document = json.loads(as_json)
    assert document["changed"] is False and document["danger"] == []
    assert affected_websites(diff) == []


# --- data loss -----------------------------------------------------------------------------------------------------


def test_deleting_a_protected_bucket_is_danger_blocked_by_protection() -> None:
    base = snapshot(AWS)
    _, findings, markdown, _ = review(base, without(base, "example-live-private", ":Bucket"))
    loss = [f for f in findings if f.danger == DATA_LOSS]
    assert [(f.name, f.website, f.blocked_by_protection) for f in loss] == [
        ("example-live-private", "example-live", True)
    ]
    assert "deleted" in loss[0].message and "protection blocks it" in loss[0].message
    assert markdown.index("Danger") < markdown.index("Summary")
    assert "**data-loss** in **example-live**, `aws:s3/bucket:Bucket` `example-live-private`" in markdown


def test_deleting_an_unprotected_container_says_nothing_blocks_it() -> None:
    base = edited(snapshot(AZURE), "example-live-private-media", lambda r: r.update(protect=False))
    _, findings, _, _ = review(base, without(base, "example-live-private-media"))
    loss = [f for f in findings if f.danger == DATA_LOSS]
    assert len(loss) == 1 and loss[0].blocked_by_protection is False
    assert "nothing blocks it" in loss[0].message


def test_renaming_a_bucket_replaces_it() -> None:
    base = snapshot(AWS)
    head = edited(base, "example-live-media", lambda r: r["inputs"].update(bucket="example-live-media-new"), ":Bucket")
    diff, findings, markdown, _ = review(base, head)
    item = next(
        r
        for r in diff.resource_diffs()
        if r.current.name == "example-live-media" and r.current.type.endswith(":Bucket")
    )
    assert item.action == "replace" and item.replace_reasons == ("bucket",)
    assert (DATA_LOSS, "example-live-media") in classes(findings)
    assert "replaced because `bucket` changes" in markdown


def test_moving_a_storage_account_replaces_it() -> None:
    base = snapshot(AZURE)
    head = edited(base, "example-live-account", lambda r: r["inputs"].update(location="westeurope"))
    _, findings, _, _ = review(base, head)
    assert (DATA_LOSS, "example-live-account") in classes(findings)
    assert "location" in next(f.message for f in findings if f.danger == DATA_LOSS)


# --- public access -------------------------------------------------------------------------------------------------


def test_access_block_flag_turned_off_on_the_private_bucket() -> None:
    base = snapshot(AWS)
    head = edited(base, "example-live-private-public-access", lambda r: r["inputs"].update(blockPublicPolicy=False))
    _, findings, _, _ = review(base, head)
    assert classes(findings) == [(PUBLIC_ACCESS, "example-live-private-public-access")]
    assert "blockPublicPolicy" in findings[0].message


def test_removing_the_access_block_of_a_remaining_bucket() -> None:
    base = snapshot(AWS)
    _, findings, _, _ = review(base, without(base, "example-live-private-public-access"))
    assert (PUBLIC_ACCESS, "example-live-private-public-access") in classes(findings)


def test_policy_statement_for_everyone_on_the_private_bucket() -> None:
    base = snapshot(AWS)

    def grant(r: dict[str, Any]) -> None:
        document = policy(r)
        document["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::example-live-private-3t7o9q9u/*",
                "Sid": "Oops",
            }
        )
        set_policy(r, document)

    _, findings, _, _ = review(base, edited(base, "example-live-private-policy", grant))
    assert classes(findings) == [(PUBLIC_ACCESS, "example-live-private-policy")]
    assert "s3:GetObject on arn:aws:s3:::example-live-private-3t7o9q9u/*" in findings[0].message


def test_public_listing_added_to_the_public_bucket() -> None:
    base = snapshot(AWS)

    def listing(r: dict[str, Any]) -> None:
        document = policy(r)
        document["Statement"][0]["Action"] = ["s3:GetObject", "s3:ListBucket"]
        set_policy(r, document)

    _, findings, _, _ = review(base, edited(base, "example-live-media-policy", listing))
    assert classes(findings) == [(PUBLIC_ACCESS, "example-live-media-policy")]
    assert "s3:ListBucket" in findings[0].message


def test_container_access_level_and_account_public_access() -> None:
    base = edited(snapshot(AZURE), "example-live-account", lambda r: r["inputs"].update(allowBlobPublicAccess=False))
    head = edited(snapshot(AZURE), "example-live-private-media", lambda r: r["inputs"].update(publicAccess="Container"))
    _, findings, _, _ = review(base, head)
    assert classes(findings) == [
        (PUBLIC_ACCESS, "example-live-private-media"),
        (PUBLIC_ACCESS, "example-live-account"),
    ]
    assert "None -> Container" in findings[0].message


def test_acls_re_enabled() -> None:
    base = snapshot(AWS)
    head = edited(
        base, "example-live-private-ownership", lambda r: r["inputs"]["rule"].update(objectOwnership="ObjectWriter")
    )
    _, findings, _, _ = review(base, head)
    assert classes(findings) == [(PUBLIC_ACCESS, "example-live-private-ownership")]


# --- CORS ----------------------------------------------------------------------------------------------------------


def test_cors_new_origin_wildcard_method_and_header_on_s3() -> None:
    base = snapshot(AWS)

    def widen(r: dict[str, Any]) -> None:
        rule = r["inputs"]["corsRules"][0]
        rule["allowedOrigins"] = [*rule["allowedOrigins"], "*"]
        rule["allowedMethods"] = [*rule["allowedMethods"], "DELETE"]
        rule["allowedHeaders"] = [*rule["allowedHeaders"], "Authorization"]

    _, findings, _, _ = review(base, edited(base, "example-live-media-cors", widen))
    assert classes(findings) == [(CORS_WIDENED, "example-live-media-cors")]
    message = findings[0].message
    assert "new origins (any origin): *" in message
    assert "new methods: DELETE" in message and "new headers: authorization" in message


def test_cors_new_origin_and_put_on_azure() -> None:
    base = snapshot(AZURE)

    def widen(r: dict[str, Any]) -> None:
        r["inputs"]["cors"]["corsRules"].append(
            {
                "allowedOrigins": ["https://evil.example"],
                "allowedMethods": ["POST"],
                "allowedHeaders": [],
                "exposedHeaders": [],
                "maxAgeInSeconds": 60,
            }
        )

    _, findings, _, _ = review(base, edited(base, "example-live-blob-service", widen))
    assert classes(findings) == [(CORS_WIDENED, "example-live-blob-service")]
    assert "https://evil.example" in findings[0].message and "POST" in findings[0].message


# --- credentials ---------------------------------------------------------------------------------------------------


def test_iam_policy_new_action_and_resource() -> None:
    base = snapshot(AWS)

    def widen(r: dict[str, Any]) -> None:
        document = policy(r)
        document["Statement"][1]["Action"].append("s3:PutBucketPolicy")
        document["Statement"][0]["Resource"].append("arn:aws:s3:::someone-elses-bucket")
        set_policy(r, document)

    _, findings, _, _ = review(base, edited(base, "example-live-user-policy", widen))
    assert classes(findings) == [(CREDENTIALS_WIDENED, "example-live-user-policy")]
    assert "s3:PutBucketPolicy" in findings[0].message and "someone-elses-bucket" in findings[0].message


def test_iam_condition_removed_widens() -> None:
    base = snapshot(AWS)

    def drop_condition(r: dict[str, Any]) -> None:
        document = policy(r)
        del document["Statement"][2]["Condition"]
        set_policy(r, document)

    _, findings, _, _ = review(base, edited(base, "example-live-user-policy", drop_condition))
    assert classes(findings) == [(CREDENTIALS_WIDENED, "example-live-user-policy")]
    assert "s3:PutObjectAcl" in findings[0].message


def test_sas_more_permissions_and_longer_lifetime() -> None:
    base = snapshot(AZURE)
    head = copy.deepcopy(base)
    head["outputs"]["sas_terms"]["expiry"] = "2027-11-01T00:00:00Z"
    component = resource(head, "example-live", ":AzureMediaStorage")
    component["outputs"]["sas_terms"]["permissions"] = "racwdlxy"
    base = copy.deepcopy(base)
    _, findings, _, _ = review(base, head)
    assert [(f.danger, f.website, f.message) for f in findings] == [
        (CREDENTIALS_WIDENED, "example-live", "SAS permissions widened: racwdl -> racwdlxy"),
    ]
    # Terms published only as a stack output (a program without the component's outputs) are checked too.
    for with_terms in (resource(base, "example-live", ":AzureMediaStorage"), component):
        del with_terms["outputs"]["sas_terms"]
    _, findings, _, _ = review(base, head)
    assert [(f.website, f.message) for f in findings] == [("(stack outputs)", "SAS lifetime longer: 90 -> 365 days")]


def test_shared_key_access_turned_on() -> None:
    base = edited(snapshot(AZURE), "example-live-account", lambda r: r["inputs"].update(allowSharedKeyAccess=False))
    _, findings, _, _ = review(base, snapshot(AZURE))
    assert classes(findings) == [(CREDENTIALS_WIDENED, "example-live-account")]


# --- protection off ------------------------------------------------------------------------------------------------


def test_protect_off_and_force_destroy_on() -> None:
    base = snapshot(AWS)
    head = edited(
        base,
        "example-live-media",
        lambda r: (r.update(protect=False), r["inputs"].update(forceDestroy=True)),
        ":Bucket",
    )
    _, findings, markdown, _ = review(base, head)
    assert [f.message.split(":")[0] for f in findings] == ["forceDestroy turned on", "protect turned off"]
    assert "`option.protect`: `true -> false`" in markdown


def test_versioning_suspended_and_encryption_removed_and_tls_rule_dropped() -> None:
    base = snapshot(AWS)
    head = edited(
        base,
        "example-live-media-versioning",
        lambda r: r["inputs"]["versioningConfiguration"].update(status="Suspended"),
    )
    head = without(head, "example-live-media-encryption")

    def no_tls(r: dict[str, Any]) -> None:
        document = policy(r)
        document["Statement"] = [s for s in document["Statement"] if s.get("Effect") != "Deny"]
        set_policy(r, document)

    head = edited(head, "example-live-media-policy", no_tls)
    _, findings, _, _ = review(base, head)
    assert classes(findings) == [
        (PROTECTION_OFF, "example-live-media-policy"),
        (PROTECTION_OFF, "example-live-media-encryption"),
        (PROTECTION_OFF, "example-live-media-versioning"),
    ]


def test_azure_soft_delete_versioning_and_https_only_off() -> None:
    base = snapshot(AZURE)

    def weaken(r: dict[str, Any]) -> None:
        r["inputs"]["deleteRetentionPolicy"] = {"enabled": False}
        r["inputs"]["isVersioningEnabled"] = False

    head = edited(base, "example-live-blob-service", weaken)
    head = edited(
        head,
        "example-live-account",
        lambda r: r["inputs"].update(enableHttpsTrafficOnly=False, minimumTlsVersion="TLS1_0"),
    )
    _, findings, _, _ = review(base, head)
    messages = sorted(f.message for f in findings if f.danger == PROTECTION_OFF)
    assert messages == [
        "blob soft delete turned off",
        "blob versioning turned off",
        "minimum TLS version lowered: TLS1_2 -> TLS1_0",
        "the TLS-only rule is off: enableHttpsTrafficOnly turned off",
    ]


# --- changes that are not dangerous --------------------------------------------------------------------------------


def _narrow_cors(r: dict[str, Any]) -> None:
    r["inputs"]["corsRules"][0]["allowedOrigins"] = ["https://www.example.com"]
    r["inputs"]["corsRules"][0]["maxAgeSeconds"] = 600


def _narrow_iam(r: dict[str, Any]) -> None:
    document = policy(r)
    document["Statement"][1]["Action"].remove("s3:DeleteObject")
    set_policy(r, document)


@pytest.mark.parametrize(
    ("stack", "name", "edit"),
    [
        (AWS, "example-live-media", lambda r: r["inputs"]["tags"].update(team="other")),
        (AWS, "example-live-media-cors", _narrow_cors),
        (AWS, "example-live-user-policy", _narrow_iam),
        (
            AWS,
            "example-live-media-lifecycle",
            lambda r: next(rule for rule in r["inputs"]["rules"] if "noncurrentVersionExpiration" in rule)[
                "noncurrentVersionExpiration"
            ].update(noncurrentDays=60),
        ),
        (AWS, "example-live-user", lambda r: r["inputs"].update(name="example-live-media-2")),
        (AZURE, "example-live-account", lambda r: r["inputs"]["sku"].update(name="Standard_LRS")),
        (AZURE, "example-live-public-media", lambda r: r["inputs"].update(publicAccess="None")),
    ],
)
def test_harmless_changes_are_updates_without_danger(stack: str, name: str, edit: Any) -> None:
    base = snapshot(stack)
    diff, findings, markdown, _ = review(base, edited(base, name, edit))
    assert findings == []
    actions = {r.current.name: r.action for r in diff.resource_diffs() if r.action != "same"}
    assert actions == {name: "update"}
    assert "None found." in markdown


def test_sas_lifetime_shortened_is_not_danger() -> None:
    base = snapshot(AZURE)
    head = copy.deepcopy(base)
    head["outputs"]["sas_terms"]["expiry"] = "2026-12-01T00:00:00Z"
    resource(head, "example-live", ":AzureMediaStorage")["outputs"]["sas_terms"]["expiry"] = "2026-12-01T00:00:00Z"
    diff, findings, _, _ = review(base, head)
    assert findings == [] and diff.changed


def test_a_new_website_is_all_added_without_danger() -> None:
    empty = {
        "format": "divio-storage-plan/v1",
        "project": "divio-storage",
        "stack": "example-live",
        "resources": [],
        "outputs": {},
        "notes": [],
    }
    head = snapshot(AWS)
    count = len(head["resources"])
    diff, findings, markdown, _ = review(empty, head)
    assert findings == []
    assert [(w.website, w.count("add")) for w in diff.websites] == [("example-live", count)]
    assert f"| example-live | {count} | 0 | 0 | 0 | 0 |" in markdown


# --- grouping, aliases, secrets ------------------------------------------------------------------------------------


def _rename(document: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return json.loads(json.dumps(document).replace(old, new))


def test_websites_group_by_topmost_storage_component_and_unchanged_collapse() -> None:
    a, b = snapshot(AWS), _rename(snapshot(AZURE), "example-live", "other-live")
    b_prefix = "urn:pulumi:example-azure-live::"
    both = copy.deepcopy(a)
    both["resources"] += json.loads(json.dumps(b["resources"]).replace(b_prefix, "urn:pulumi:example-live::"))
    extra = {
        "urn": "urn:pulumi:example-live::divio-storage::aws:s3/bucket:Bucket::loose",
        "type": "aws:s3/bucket:Bucket",
        "name": "loose",
        "parent": None,
        "custom": True,
        "protect": False,
        "inputs": {"bucket": "loose"},
        "outputs": {},
    }
    head = edited(both, "other-live-account", lambda r: r["inputs"]["tags"].update(team="x"))
    head["resources"].append(extra)
    diff, findings, markdown, _ = review(both, head)
    assert [w.website for w in diff.websites] == ["example-live", "other-live", OTHER_GROUP]
    assert affected_websites(diff) == ["other-live"]
    assert "1 website unchanged: example-live." in markdown
    assert findings == []


def test_alias_naming_a_base_urn_matches_the_resource() -> None:
    base = snapshot(AWS)
    head = copy.deepcopy(base)
    target = resource(head, "example-live-media", ":Bucket")
    old_urn = target["urn"]
    target["urn"] = old_urn.replace("::example-live-media", "::example-live-public")
    target["name"] = "example-live-public"
    target["aliases"] = [{"urn": old_urn}]
    diff, findings, _, _ = review(base, head)
    assert findings == []
    assert not any(r.action in ("add", "remove") for r in diff.resource_diffs())
    spec_head = copy.deepcopy(head)
    resource(spec_head, "example-live-public")["aliases"] = [{"spec": {"name": "example-live-media"}}]
    diff, findings, _, _ = review(base, spec_head)
    assert findings == [] and not any(r.action in ("add", "remove") for r in diff.resource_diffs())


PLAIN = "AKIAPLAINVALUE0123456"


def test_secrets_never_appear_in_any_output() -> None:
    base = snapshot("example-exoscale-live")
    base = edited(base, "example-ch-live-exoscale", lambda r: r["inputs"].update(accessKey=PLAIN))
    head = edited(
        snapshot("example-exoscale-live"),
        "example-ch-live-exoscale",
        lambda r: r["inputs"].update(secretKey="[secret]x"),
    )
    head["outputs"]["storage_dsn"] = f"s3://{PLAIN}:[secret]@bucket/"
    _, findings, markdown, as_json = review(base, head)
    for text in (markdown, as_json, "\n".join(f.message for f in findings)):
        assert PLAIN not in text
    assert "`accessKey`: `changed (secret)`" in markdown
    assert "`storage_dsn`: `changed (secret)`" in markdown
    changes = [c for w in json.loads(as_json)["websites"] for r in w["resources"] for c in r["changes"]]
    assert {"path": "accessKey", "secret": True} in changes


# --- replacement per type ------------------------------------------------------------------------------------------

REPLACE_CASES = [
    (AWS, ":Bucket", "example-live-media", "region", "eu-west-1", True),
    (AWS, ":Bucket", "example-live-media", "forceDestroy", True, False),
    (AWS, "BucketCorsConfiguration", "example-live-media-cors", "bucket", "x", True),
    (AWS, "BucketLifecycleConfiguration", "example-live-media-lifecycle", "region", "eu-west-1", True),
    (AWS, "BucketOwnershipControls", "example-live-media-ownership", "bucket", "x", True),
    (AWS, "BucketPolicy", "example-live-media-policy", "bucket", "x", True),
    (AWS, "BucketPublicAccessBlock", "example-live-media-public-access", "bucket", "x", True),
    (AWS, "BucketPublicAccessBlock", "example-live-media-public-access", "blockPublicAcls", False, False),
    (AWS, "BucketServerSideEncryptionConfiguration", "example-live-media-encryption", "bucket", "x", True),
    (AWS, "BucketVersioning", "example-live-media-versioning", "bucket", "x", True),
    (AWS, ":User", "example-live-user", "name", "renamed", False),
    (AWS, "UserPolicy", "example-live-user-policy", "user", "renamed", True),
    (AWS, "UserPolicy", "example-live-user-policy", "name", "renamed", True),
    (AWS, "AccessKey", "example-live-access-key", "user", "renamed", True),
    (AZURE, "ResourceGroup", "example-live-resource-group", "location", "westeurope", True),
    (AZURE, "ResourceGroup", "example-live-resource-group", "tags", {}, False),
    (AZURE, "StorageAccount", "example-live-account", "accountName", "renamed", True),
    (AZURE, "StorageAccount", "example-live-account", "kind", "BlobStorage", False),
    (AZURE, "BlobContainer", "example-live-public-media", "containerName", "renamed", True),
    (AZURE, "BlobContainer", "example-live-public-media", "publicAccess", "None", False),
    (AZURE, "BlobServiceProperties", "example-live-blob-service", "resourceGroupName", "other", True),
    (AZURE, "ManagementPolicy", "example-live-lifecycle", "accountName", "renamed", True),
]


@pytest.mark.parametrize(("stack", "suffix", "name", "key", "value", "replaces"), REPLACE_CASES)
def test_replacement_detection_per_type(
    stack: str, suffix: str, name: str, key: str, value: Any, replaces: bool
) -> None:
    base = snapshot(stack)
    diff, _, _, _ = review(base, edited(base, name, lambda r: r["inputs"].update({key: value}), suffix))
    item = next(r for r in diff.resource_diffs() if r.current.name == name and r.current.type.endswith(suffix))
    assert item.action == ("replace" if replaces else "update")
    assert item.replace_reasons == ((key,) if replaces else ())
