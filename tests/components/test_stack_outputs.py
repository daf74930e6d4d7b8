"""The components export exactly the table of stack outputs, and a DSN is a secret exactly when it carries one."""

from __future__ import annotations

from typing import Any

import pytest

from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core.clouds import CLOUDS
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.core.stackoutputs import OUTPUTS, output_names
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Secret

PLACES: dict[str, dict[str, Any]] = {
    "aws": {"region": "eu-central-1"},
    "exoscale": {"region": "ch-gva-2"},
    "s3-compatible": {"region": "us-east-1", "endpoint": "objects.example.net"},
    "azure": {"location": "switzerlandnorth"},
}


def _exports(cloud: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The store component's registered outputs and its ``outputs()`` names, for a spec on ``cloud``."""
    raw = {"website": "shop", "environment": "live", "cloud": cloud, **PLACES[cloud], "privateStorage": True, **extra}
    spec = StorageSpec.from_dict(raw)
    names: dict[str, Any] = {}

    def program() -> None:
        storage = WebsiteMediaStorage(
            "shop-live",
            WebsiteMediaStorageArgs(spec=spec, access_key_id="KEYID", secret_access_key="not-a-real-secret"),
        )
        names.update(storage.outputs())

    key = {"aws:iam/accessKey:AccessKey": lambda a: {"id": "AKIAEXAMPLEKEY", "secret": "wJalr/XUtnFEMI+K7MDENG"}}
    declared = mockrun.run(program, mocks=mockrun.EchoMocks(outputs=key), stack="shop-live")
    store = next(r for r in declared.resources if r.type.startswith("divio:storage:") and r.parent is not None)
    return declared.component_outputs[store.urn], names


@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_every_component_exports_the_outputs_of_the_table(cloud: str) -> None:
    _, names = _exports(cloud, credentials="none")
    assert set(names) == set(output_names(CLOUDS[cloud].family))
    assert {o.name for o in OUTPUTS} == set(output_names("s3")) | set(output_names("azure"))


@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_a_dsn_without_credentials_is_shown_as_it_is(cloud: str) -> None:
    outputs, _ = _exports(cloud, credentials="none")
    for name in ("storage_dsn", "private_storage_dsn"):
        assert isinstance(outputs[name], str), (name, outputs[name])
        assert ":" not in outputs[name].split("://", 1)[1].split("@", 1)[0]  # no user:secret part to hide


@pytest.mark.parametrize(
    ("cloud", "credentials"), [("aws", "iam-user"), ("exoscale", "static"), ("s3-compatible", "static")]
)
def test_a_dsn_with_credentials_stays_secret(cloud: str, credentials: str) -> None:
    outputs, _ = _exports(cloud, credentials=credentials)
    for name in ("storage_dsn", "private_storage_dsn"):
        assert isinstance(outputs[name], Secret), (name, outputs[name])
