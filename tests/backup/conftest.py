"""The backup tests apply their stores with the applier they were written against (``support.legacy_applier``),
which serves plain-HTTP emulators; their TLS behaviour is proven in ``test_backup_tls.py`` through a TLS front."""

from __future__ import annotations

import pytest
from support.emulators import Emulator


@pytest.fixture(scope="session")
def moto(moto_http: Emulator) -> Emulator:
    """moto over plain HTTP."""
    return moto_http


@pytest.fixture(scope="session")
def seaweedfs(seaweedfs_http: Emulator) -> Emulator:
    """SeaweedFS over plain HTTP."""
    return seaweedfs_http


@pytest.fixture(scope="session")
def azurite(azurite_http: Emulator) -> Emulator:
    """Azurite over plain HTTP."""
    return azurite_http
