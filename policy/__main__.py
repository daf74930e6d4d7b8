"""The divio-storage CrossGuard pack: `pulumi preview --policy-pack policy/` runs this module.

Each policy's enforcement level is its default here; the platform overrides it per policy (advisory, mandatory or
disabled) with `--policy-pack-config` or in a Pulumi Cloud policy group. The rules live in divio_storage_policy.
"""

import sys
from pathlib import Path

# The pack's own directory, so its rules import wherever Pulumi starts the interpreter.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from divio_storage_policy.crossguard import PACK_NAME, policies  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Storage guardrails of the divio platform: public access, TLS, encryption, CORS, protection, "
    "versioning, Azure account settings and least-privilege storage users.",
)
