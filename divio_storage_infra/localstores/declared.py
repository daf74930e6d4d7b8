"""Run the per-website program for a spec under Pulumi's mock runtime: what the applier creates locally.

The mocks answer what only the cloud knows (access keys, ARNs, account keys, SAS tokens) with placeholders that
the applier replaces with the local store's own values (:mod:`.localdsn`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

from divio_storage_infra import program
from divio_storage_infra.core.configkeys import CREDENTIAL_KEYS
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared, Secret

MOCK_KEY_ID = "AKIAMOCKRUNPLACEHOLD"
MOCK_SECRET = "mock-run-secret/replaced+by=the-emulator-key"
MOCK_ACCOUNT_KEY = base64.b64encode(b"mock-run account key, replaced by Azurite's").decode()
LIST_KEYS = "azure-native:storage:listStorageAccountKeys"
SERVICE_SAS = "azure-native:storage:listStorageAccountServiceSAS"


def _mock_sas(args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
    container = str(args.args["canonicalizedResource"]).rsplit("/", 1)[-1]
    return {
        "serviceSasToken": f"sv=2022-11-02&sr=c&sp={args.args['permissions']}&st={args.args['sharedAccessStartTime']}"
        f"&se={args.args['sharedAccessExpiryTime']}&spr=https&sig=mock-signature-of-{container}"
    }


def website_mocks() -> mockrun.EchoMocks:
    """Mocks answering what AWS / Azure would compute: access keys, ARNs, account keys, SAS tokens (placeholders)."""
    return mockrun.EchoMocks(
        outputs={
            "aws:iam/accessKey:AccessKey": lambda a: {"id": MOCK_KEY_ID, "secret": MOCK_SECRET},
            "aws:iam/user:User": lambda a: {"arn": f"arn:aws:iam::123456789012:user/{a.inputs['name']}"},
        },
        calls={
            LIST_KEYS: lambda a: {"keys": [{"keyName": "key1", "value": MOCK_ACCOUNT_KEY, "permissions": "FULL"}]},
            SERVICE_SAS: _mock_sas,
        },
    )


def declare_website(spec: StorageSpec, credentials: tuple[str, str] | None = None) -> Declared:
    """Run the per-website program (stack config -> spec -> components -> exports) for ``spec`` under mocks.

    ``credentials`` (``credentials: static``) become the ``accessKeyId`` and ``secretAccessKey`` config keys,
    the latter a secret config key, as ``pulumi config set --secret`` stores it.
    """
    config = {
        f"{program.NAMESPACE}:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in spec.to_dict().items()
    }
    secret_keys: list[str] = []
    if credentials is not None:
        key_id_key, secret_key = (f"{program.NAMESPACE}:{name}" for name in CREDENTIAL_KEYS)
        config[key_id_key], config[secret_key] = credentials
        secret_keys.append(secret_key)

    def run_program() -> None:
        program.main()

    return mockrun.run(
        run_program, mocks=website_mocks(), stack=spec.stack_name, config=config, secret_keys=secret_keys
    )


def exported(declared: Declared, name: str) -> str:
    """A DSN the program exported: a Pulumi secret when it carries credentials, plain text without (ValueError for
    anything else)."""
    value = declared.outputs.get(name)
    if isinstance(value, Secret) and isinstance(value.value, str):
        return value.value
    if isinstance(value, str):
        return value
    raise ValueError(f"stack output {name!r} should be a DSN string, got {type(value).__name__}")


def has_output(declared: Declared, name: str) -> bool:
    """Whether the program exported ``name`` with a value."""
    return declared.outputs.get(name) is not None
