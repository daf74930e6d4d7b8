"""Declaring a website with backups under the mock runtime (its backup resources are applied by the package
applier, :mod:`divio_storage_infra.localstores`, like any other).

The components take their backup settings as an explicit argument (:class:`BackupSettings`); this runs them the way
the per-website program does (stack outputs exported), with the mocks of :mod:`.localstores.declared`.
"""

from __future__ import annotations

import pulumi

from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core import naming
from divio_storage_infra.core.backup import BackupSettings
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.declared import website_mocks
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared


def declare(spec: StorageSpec, settings: BackupSettings | None, credentials: tuple[str, str] | None = None) -> Declared:
    """Run the components for ``spec`` with ``settings`` under mocks and export every output, as the program does."""

    def program() -> None:
        args = WebsiteMediaStorageArgs(spec=spec, backup=settings)
        if credentials is not None:
            args.access_key_id = credentials[0]
            args.secret_access_key = pulumi.Output.secret(credentials[1])
        storage = WebsiteMediaStorage(naming.logical_name(spec), args)
        for key, value in storage.outputs().items():
            if value is not None and value != []:
                pulumi.export(key, value)

    return mockrun.run(program, mocks=website_mocks(), stack=spec.stack_name, config={})
