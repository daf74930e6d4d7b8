"""Rotating an IAM user's access key without downtime, proven on a moto server with IAM authorisation on.

Each step of the documented rotation is one config change: the declarations of consecutive steps differ in the
access keys alone, and the difference is applied to moto (a new key created, a retired one deleted) as
``pulumi up`` would. The DSN of each step carries the active slot's key; during the overlap both keys work,
after the retirement only the new one does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.emulators import Emulator, moto_enable_auth, s3_client, s3_target, start_moto

from divio_storage_infra import program
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import exported
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared

pytestmark = pytest.mark.emulator

ACCESS_KEY = "aws:iam/accessKey:AccessKey"
BASE: dict[str, Any] = {
    "website": "rotate",
    "environment": "live",
    "region": "eu-central-1",
    "publicStorage": False,
    "privateStorage": True,
    "credentials": "iam-user",
}
# The documented rotation, one config change per step (docs/rotation.md).
STEPS: list[dict[str, Any]] = [
    {},
    {"accessKeys": ["a", "b"]},
    {"accessKeys": ["a", "b"], "activeAccessKey": "b"},
    {"accessKeys": ["b"]},
]


def declare(overrides: dict[str, Any]) -> Declared:
    spec = StorageSpec.from_dict({**BASE, **overrides})
    config = {f"{program.NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in spec.to_dict().items()}
    mocks = mockrun.EchoMocks(
        outputs={
            ACCESS_KEY: lambda a: {"id": f"MOCK-{a.name}", "secret": f"mock-secret-{a.name}"},
            "aws:iam/user:User": lambda a: {"arn": f"arn:aws:iam::123456789012:user/{a.inputs['name']}"},
        }
    )
    return mockrun.run(program.main, mocks=mocks, stack=spec.stack_name, config=config)


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = start_moto(tmp_path_factory.mktemp("moto-rotation"))
    try:
        yield emulator
    finally:
        emulator.stop()


def others(declared: Declared) -> dict[str, Any]:
    """Everything declared but the access keys, with the inputs and options a change would show in."""
    return {r.urn: (r.inputs, r.protect, r.dependencies) for r in declared.resources if r.type != ACCESS_KEY}


def works(emulator: Emulator, key: tuple[str, str], bucket: str) -> bool:
    client = s3_client(emulator.url, key)
    try:
        client.put_object(Bucket=bucket, Key="rotation-probe.txt", Body=b"still here")
        return bool(client.get_object(Bucket=bucket, Key="rotation-probe.txt")["Body"].read() == b"still here")
    except ClientError:
        return False


def test_rotation_keeps_a_working_key_at_every_step(iam_moto: Emulator, tmp_path: Path) -> None:
    declarations = [declare(step) for step in STEPS]
    applied = apply_aws(declarations[0], s3_target(iam_moto))
    bucket = next(iter(applied.buckets.values()))
    admin_iam = s3_client(iam_moto.url, service="iam")
    user_name = declarations[0].one("aws:iam/user:User").inputs["name"]
    # A deployer identity that may change IAM once authorisation is on (what runs `pulumi up`).
    admin_iam.create_user(UserName="deployer")
    admin_iam.put_user_policy(
        UserName="deployer",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    deployer_key = admin_iam.create_access_key(UserName="deployer")["AccessKey"]
    moto_enable_auth(iam_moto)
    deployer = s3_client(iam_moto.url, (deployer_key["AccessKeyId"], deployer_key["SecretAccessKey"]), service="iam")

    keys: dict[str, tuple[str, str]] = dict(applied.access_keys)  # logical name -> the key moto issued
    history: list[dict[str, bool]] = []
    for number, declared in enumerate(declarations):
        if number:
            # One config change: nothing but the access keys (and which one is protected) differs.
            assert others(declared) == others(declarations[number - 1])
            wanted = {r.name for r in declared.by_type(ACCESS_KEY)}
            for name in sorted(wanted - set(keys)):
                issued = deployer.create_access_key(UserName=user_name)["AccessKey"]
                keys[name] = (issued["AccessKeyId"], issued["SecretAccessKey"])
            for name in sorted(set(keys) - wanted):
                deployer.delete_access_key(UserName=user_name, AccessKeyId=keys[name][0])
                retired = keys.pop(name)
                keys[f"retired {name}"] = retired
        # The DSN carries the active slot's key; with moto's key in its place the app works.
        parsed = parse_dsn(exported(declared, "private_storage_dsn"))
        active = parsed.access_key_id.removeprefix("MOCK-") if parsed.access_key_id else ""
        assert parsed.secret == f"mock-secret-{active}"
        assert works(iam_moto, keys[active], bucket), f"step {number}: the DSN's key does not work"
        history.append({name: works(iam_moto, key, bucket) for name, key in sorted(keys.items())})

    a, b = "rotate-live-access-key", "rotate-live-access-key-b"
    assert history == [
        {a: True},
        {a: True, b: True},
        {a: True, b: True},  # the overlap: the app moves to b while a still works
        {b: True, f"retired {a}": False},  # after retirement only the new key works
    ]
