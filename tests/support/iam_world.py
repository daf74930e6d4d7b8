"""The ``iam_world`` fixture's value (tests/conftest.py): its own module, since test modules cannot import from a
``conftest`` by name once several directories have one."""

from __future__ import annotations

from dataclasses import dataclass

from divio_storage_infra.localstores.apply_s3 import AwsApplied
from support.emulators import Emulator


@dataclass
class IamWorld:
    """Two websites applied to a moto server whose IAM enforcement is on."""

    moto: Emulator
    site: AwsApplied
    other: AwsApplied
    site_dsn: str
    site_private_dsn: str
    other_dsn: str
