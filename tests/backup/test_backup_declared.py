"""What no emulator enforces, asserted on the declared inputs: Object Lock, replication, the replication role,
the backup account's versioning and point-in-time restore; and checkov's CKV_AWS_144 on the live buckets.

moto keeps a replication configuration without replicating and SeaweedFS has none; Azurite has no versioning,
change feed or point-in-time restore. The declared graph is what `pulumi up` sends to the cloud.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.backups import declare
from support.legacy_applier import exported, plain
from support.policy_lint import findings
from support.terraform_plan import plan_json

from divio_storage_infra.core import naming, policies
from divio_storage_infra.core.backup import BACKUP_CONTAINERS, BackupSettings, backup_account_name, backup_bucket_name
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov-venv" / "bin" / "checkov"
AWS = StorageSpec.from_dict(
    {
        "website": "shop",
        "environment": "live",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
    }
)
SETTINGS = BackupSettings(region="eu-west-1", retention_days=40)


@pytest.fixture(scope="module")
def aws() -> Declared:
    return declare(AWS, SETTINGS)


def of_type(declared: Declared, suffix: str) -> list[DeclaredResource]:
    return [r for r in declared.resources if r.type.endswith(suffix)]


def inputs(resource: DeclaredResource) -> dict[str, Any]:
    return {k: plain(v, resource.name) for k, v in resource.inputs.items()}


def by_bucket(declared: Declared, suffix: str) -> dict[str, dict[str, Any]]:
    return {inputs(r)["bucket"]: inputs(r) for r in of_type(declared, suffix)}


def test_each_store_has_its_own_backup_bucket_in_the_backup_region(aws: Declared) -> None:
    buckets = by_bucket(aws, ":Bucket")
    backups = {backup_bucket_name(AWS, role): role for role in ("media", "private")}
    assert len(set(backups)) == 2
    for name, role in backups.items():
        bucket = buckets[name]
        assert bucket["region"] == "eu-west-1"
        assert bucket["objectLockEnabled"] is True
        assert bucket["forceDestroy"] is False
        assert bucket["tags"]["divio-backup-of"] == naming.bucket_name(AWS, role)
        assert bucket["tags"]["divio-backup-role"] == ("public" if role == "media" else "private")
    for role in ("media", "private"):
        assert naming.bucket_name(AWS, role) in buckets
        assert buckets[naming.bucket_name(AWS, role)]["region"] == "eu-central-1"


def test_backup_buckets_are_locked_versioned_private_and_tls_only(aws: Declared) -> None:
    locks = by_bucket(aws, "BucketObjectLockConfiguration")
    versioning = by_bucket(aws, "BucketVersioning")
    blocks = by_bucket(aws, "BucketPublicAccessBlock")
    bucket_policies = by_bucket(aws, "BucketPolicy")
    ownership = by_bucket(aws, "BucketOwnershipControls")
    for role in ("media", "private"):
        name = backup_bucket_name(AWS, role)
        assert locks[name]["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 40}}
        assert versioning[name]["versioningConfiguration"] == {"status": "Enabled"}
        assert all(
            blocks[name][k] is True
            for k in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
        )
        assert ownership[name]["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        document = json.loads(bucket_policies[name]["policy"])
        assert not [s for s in document["Statement"] if s["Effect"] == "Allow"]
        deny = next(s for s in document["Statement"] if s["Sid"] == "DenyInsecureTransport")
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert findings(document) == []


def test_each_store_replicates_into_its_own_backup_without_delete_markers(aws: Declared) -> None:
    replications = by_bucket(aws, "BucketReplicationConfig")
    role = of_type(aws, "iam/role:Role")[0]
    assert set(replications) == {naming.bucket_name(AWS, r) for r in ("media", "private")}
    for store in ("media", "private"):
        config = replications[naming.bucket_name(AWS, store)]
        (rule,) = config["rules"]
        assert rule["status"] == "Enabled"
        assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
        assert rule["destination"]["bucket"] == policies.bucket_arn(backup_bucket_name(AWS, store), "eu-west-1")
        replication = next(
            r for r in of_type(aws, "BucketReplicationConfig") if inputs(r)["bucket"] == config["bucket"]
        )
        # Replication needs versioning on both sides first, and the role's policy.
        depends = set(replication.dependencies)
        versionings = {r.urn: inputs(r)["bucket"] for r in of_type(aws, "BucketVersioning")}
        assert {b for u, b in versionings.items() if u in depends} >= {config["bucket"], backup_bucket_name(AWS, store)}
    trust = json.loads(inputs(role)["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_the_replication_role_has_least_privilege(aws: Declared) -> None:
    (policy,) = of_type(aws, "iam/rolePolicy:RolePolicy")
    document = json.loads(inputs(policy)["policy"])
    assert findings(document) == []
    resources = {r for s in document["Statement"] for r in s["Resource"]}
    live = {policies.bucket_arn(naming.bucket_name(AWS, r), "eu-central-1") for r in ("media", "private")}
    backup = {policies.bucket_arn(backup_bucket_name(AWS, r), "eu-west-1") for r in ("media", "private")}
    assert resources == live | {f"{a}/*" for a in live | backup}
    writes = next(s for s in document["Statement"] if s["Sid"] == "WriteBackups")
    assert sorted(writes["Action"]) == ["s3:ReplicateObject", "s3:ReplicateTags"]  # never ReplicateDelete
    assert all("*" not in a for s in document["Statement"] for a in s["Action"])


def test_the_apps_key_reaches_no_backup_and_backup_dsns_are_secret_platform_outputs(aws: Declared) -> None:
    (user_policy,) = of_type(aws, "iam/userPolicy:UserPolicy")
    text = inputs(user_policy)["policy"]
    for role in ("media", "private"):
        assert backup_bucket_name(AWS, role) not in text
    for output, role in (("backup_storage_dsn", "media"), ("private_backup_storage_dsn", "private")):
        parsed = parse_dsn(exported(aws, output))
        assert parsed.bucket == backup_bucket_name(AWS, role)
        assert parsed.access_key_id is None  # the platform's own role, never the app's IAM user
        assert parsed.signed_urls and parsed.custom_domain is None
        assert parsed.endpoint_host == "s3.eu-west-1.amazonaws.com"


def test_exoscale_backups_are_in_the_backup_zone_without_replication_or_lock() -> None:
    spec = StorageSpec.from_dict(
        {
            "website": "sos",
            "environment": "live",
            "cloud": "exoscale",
            "region": "ch-gva-2",
            "credentials": "static",
            "privateStorage": True,
        }
    )
    declared = declare(spec, BackupSettings(region="de-fra-1"), ("EXOKEY", "exo-secret"))
    assert not of_type(declared, "BucketReplicationConfig") and not of_type(declared, "BucketObjectLockConfiguration")
    assert not of_type(declared, "iam/role:Role")
    providers = {r.name: inputs(r) for r in of_type(declared, "providers:aws")}
    backup_provider = providers["sos-live-backup-exoscale"]
    assert json.loads(backup_provider["endpoints"]) == [{"s3": "https://sos-de-fra-1.exo.io"}]
    backup_buckets = [
        r for r in of_type(declared, ":Bucket") if inputs(r)["bucket"] == backup_bucket_name(spec, "media")
    ]
    assert backup_buckets[0].provider is not None and "sos-live-backup-exoscale" in backup_buckets[0].provider
    parsed = parse_dsn(exported(declared, "backup_storage_dsn"))
    assert parsed.endpoint_host == "sos-de-fra-1.exo.io"
    assert parsed.effective_acl == "private"  # never public-read into a backup


def test_azure_backup_account_keeps_versions_and_point_in_time_restore() -> None:
    spec = StorageSpec.from_dict(
        {
            "website": "blob",
            "environment": "live",
            "cloud": "azure",
            "location": "switzerlandnorth",
            "credentials": "account-key",
            "privateStorage": True,
        }
    )
    declared = declare(spec, BackupSettings(location="switzerlandwest", retention_days=20))
    accounts = {inputs(r)["accountName"]: inputs(r) for r in of_type(declared, "StorageAccount")}
    account = accounts[backup_account_name(spec)]
    assert account["location"] == "switzerlandwest"
    assert account["allowBlobPublicAccess"] is False
    assert account["enableHttpsTrafficOnly"] is True and account["minimumTlsVersion"] == "TLS1_2"
    service = next(
        inputs(r)
        for r in of_type(declared, "BlobServiceProperties")
        if inputs(r)["accountName"] == backup_account_name(spec)
    )
    assert service["isVersioningEnabled"] is True
    assert service["changeFeed"]["enabled"] is True
    assert service["restorePolicy"] == {"enabled": True, "days": 20}
    assert service["deleteRetentionPolicy"]["days"] > 20  # Azure requires soft delete to outlast the restore window
    containers = {inputs(r)["containerName"]: inputs(r) for r in of_type(declared, "BlobContainer")}
    for role, container in BACKUP_CONTAINERS.items():
        assert containers[container]["publicAccess"] == "None"
        assert containers[container]["metadata"]["divio_backup_role"] == role
    assert containers[BACKUP_CONTAINERS["public"]]["metadata"]["divio_backup_of"].endswith("/public-media")


def checkov(tmp_path: Path, declared: Declared, only: list[DeclaredResource]) -> dict[str, Any]:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_json(only)))
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            str(plan),
            "--framework",
            "terraform_plan",
            "--check",
            "CKV_AWS_144",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE"},
        check=False,
    )
    assert result.stdout.strip(), result.stderr[-2000:]
    return json.loads(result.stdout)


def live_buckets_and_replication(declared: Declared, spec: StorageSpec) -> list[DeclaredResource]:
    live = {naming.bucket_name(spec, role) for role in ("media", "private")}
    return [
        r
        for r in declared.resources
        if (r.type == "aws:s3/bucket:Bucket" and inputs(r)["bucket"] in live)
        or r.type.endswith("BucketReplicationConfig")
    ]


def test_checkov_replication_check_passes_on_the_live_buckets(aws: Declared, tmp_path: Path) -> None:
    report = checkov(tmp_path, aws, live_buckets_and_replication(aws, AWS))
    passed = sorted(check["resource"] for check in report["results"]["passed_checks"])
    assert passed == ["aws_s3_bucket.shop_live_media", "aws_s3_bucket.shop_live_private"]
    assert report["results"]["failed_checks"] == []


def test_checkov_replication_check_fails_without_backups(tmp_path: Path) -> None:
    declared = declare(AWS, None)
    report = checkov(tmp_path, declared, live_buckets_and_replication(declared, AWS))
    failed = sorted(check["resource"] for check in report["results"]["failed_checks"])
    assert failed == ["aws_s3_bucket.shop_live_media", "aws_s3_bucket.shop_live_private"]
