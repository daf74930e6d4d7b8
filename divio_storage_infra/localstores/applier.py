"""The one applier: create what a website's program declared (a mock run) in a local store.

``dev`` and the test suite both use it. Every declared resource is created in SeaweedFS or moto (boto3,
:mod:`.apply_s3`) or Azurite (azure-storage-blob, :mod:`.apply_azure`) from its recorded inputs. Every type and
every input key has a handler: an unknown type, or an input the applier does not know how to reproduce, raises
:class:`UnappliedResource` naming it, so nothing declared is skipped silently. Where a local server cannot express
a declared setting the applier says so in its ``log``.

Differences from the cloud, each said in the log:

- Over plain HTTP a bucket policy loses its ``DenyInsecureTransport`` statement (it would rightly deny every
  request); over TLS it is kept, as in production.
- Azure service SAS tokens are signed for ``https,http`` over plain HTTP, ``https`` only (as declared) over TLS.
- The website's storage account is played by Azurite's development account (``devstoreaccount1``).
- An explicit ``pulumi:providers:aws`` (Exoscale SOS, a generic S3-compatible endpoint) is played by the local
  server with its region and key pair; its endpoint host is recorded, never contacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from divio_storage_infra.preview.mockrun import UNKNOWN, DeclaredResource, Secret

COMPONENT_TYPES = frozenset(
    {"divio:storage:WebsiteMediaStorage", "divio:storage:S3MediaStorage", "divio:storage:AzureMediaStorage"}
)
"""Logical groupings: their children carry everything, so the applier passes over them."""


class UnappliedResource(AssertionError):
    """A declared resource (or one of its inputs, or an invoke) that the applier cannot reproduce."""


def plain(value: Any, where: str) -> Any:
    """``value`` without Secret markers; an UNKNOWN (only known after apply) cannot be applied."""
    if isinstance(value, Secret):
        return plain(value.value, where)
    if value is UNKNOWN:
        raise UnappliedResource(f"{where} is unknown under the mocks; the applier needs a known value")
    if isinstance(value, dict):
        return {k: plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


class Inputs:
    """A resource's inputs; every key must be taken (or explicitly ignored) before :meth:`done`."""

    def __init__(self, resource: DeclaredResource) -> None:
        self.resource = resource
        self.values = plain(resource.inputs, f"{resource.type} {resource.name}")
        self.taken: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        """The input ``key`` (``default`` when not declared), marked as taken."""
        self.taken.add(key)
        return self.values.get(key, default)

    def need(self, key: str) -> Any:
        """The input ``key``, which must be declared, marked as taken."""
        self.taken.add(key)
        if key not in self.values:
            raise UnappliedResource(f"{self.resource.type} {self.resource.name} declares no {key!r}")
        return self.values[key]

    def ignore(self, *keys: str) -> None:
        """Inputs with no emulator counterpart that change no behaviour the tests probe (tags, names)."""
        self.taken.update(keys)

    def done(self) -> None:
        """Raise :class:`UnappliedResource` for every input no handler took."""
        left = sorted(set(self.values) - self.taken)
        if left:
            raise UnappliedResource(
                f"{self.resource.type} {self.resource.name}: the applier does not know how to apply input(s) "
                f"{', '.join(left)}; teach divio_storage_infra/localstores or assert them on the declared graph"
            )


def mapped(rule: Mapping[str, Any], names: Mapping[str, str], where: str) -> dict[str, Any]:
    """``rule`` with its keys renamed by ``names`` (declared name -> SDK name); an unknown key is unapplied."""
    unknown = sorted(set(rule) - set(names))
    if unknown:
        raise UnappliedResource(f"{where}: no mapping for {', '.join(unknown)}")
    return {names[k]: v for k, v in rule.items()}


def dependency_order(resources: list[DeclaredResource]) -> list[DeclaredResource]:
    """``resources`` so that each comes after everything it depends on (as the engine runs them one at a time),
    ties in registration order; a dependency outside ``resources`` (a component) is ignored."""
    known = {r.urn for r in resources}
    done: set[str] = set()
    ordered: list[DeclaredResource] = []
    pending = list(resources)
    while pending:
        ready = next(
            (r for r in pending if all(d in done or d not in known or d == r.urn for d in r.dependencies)), None
        )
        if ready is None:
            raise UnappliedResource(f"dependency cycle among {[r.name for r in pending]}")
        pending.remove(ready)
        done.add(ready.urn)
        ordered.append(ready)
    return ordered
