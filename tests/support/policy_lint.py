"""Run parliament, a real IAM policy linter, over a policy document and return its findings."""

from __future__ import annotations

import json
from typing import Any

from parliament import analyze_policy_string

# The one intended finding. parliament lists s3:PutObjectAcl as a permissions-management action, because an ACL
# can make an object public. The access policy needs it (every upload names the DSN's canned ACL) and grants it
# only with the condition s3:x-amz-acl = bucket-owner-full-control, so it cannot make anything public; the finding
# is accepted for exactly that action and only when every statement granting it carries that condition.
PINNED_ACL_CONDITION = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}


def _acl_grants_are_pinned(document: dict[str, Any]) -> bool:
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    granting = [
        s
        for s in statements
        if s.get("Effect") == "Allow"
        and "s3:PutObjectAcl" in ([s["Action"]] if isinstance(s.get("Action"), str) else s.get("Action", []))
    ]
    return bool(granting) and all(
        s.get("Action") == "s3:PutObjectAcl" and s.get("Condition") == PINNED_ACL_CONDITION for s in granting
    )


def _intended(finding: Any, document: dict[str, Any]) -> bool:
    location = finding.location if isinstance(finding.location, dict) else {}
    return (
        finding.issue == "PERMISSIONS_MANAGEMENT_ACTIONS"
        and location.get("actions") == ["s3:putobjectacl"]
        and _acl_grants_are_pinned(document)
    )


def findings(document: str | dict[str, Any]) -> list[str]:
    """parliament's findings (issue, detail, location) for a policy, minus the intended one described above."""
    parsed = json.loads(document) if isinstance(document, str) else document
    policy = analyze_policy_string(json.dumps(parsed), include_community_auditors=True)
    return [f"{f.issue}: {f.detail} {f.location}" for f in policy.findings if not _intended(f, parsed)]
