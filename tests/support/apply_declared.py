"""Test helpers around the applier (``divio_storage_infra.localstores``): declarations made up for one test."""

from __future__ import annotations

from typing import Any

from divio_storage_infra.preview.mockrun import Declared, DeclaredResource


def declared_with(resource_type: str, inputs: dict[str, Any]) -> Declared:
    """A declaration of one ``resource_type`` with ``inputs``: shows the applier refuses what it cannot apply."""
    resource = DeclaredResource(
        urn=f"urn:pulumi:test::p::{resource_type}::thing",
        type=resource_type,
        name="thing",
        parent=None,
        custom=True,
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        dependencies=[],
        property_dependencies={},
        provider=None,
        ignore_changes=[],
        additional_secret_outputs=[],
        aliases=[],
        inputs=inputs,
    )
    return Declared(resources=[resource])
