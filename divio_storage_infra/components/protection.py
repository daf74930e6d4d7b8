"""Deletion that cannot half-happen: a protected website protects every resource it declares.

Pulumi deletes dependents before what they depend on. With only the buckets protected, removing a website (or
``pulumi destroy``) would delete its bucket policy, access block, CORS rules, IAM user and key first and only then
fail on the bucket: the media would answer 403 and the app would have lost its key. With every resource of the
website protected, nothing is deleted until its spec sets ``protect: false`` and that is deployed.
"""

from __future__ import annotations

import pulumi

from divio_storage_infra.core.spec import StorageSpec


def protect_opts(spec: StorageSpec) -> pulumi.ResourceOptions:
    """``protect=spec.protect`` as options to merge into a component's or a child's own options."""
    return pulumi.ResourceOptions(protect=spec.protect)
