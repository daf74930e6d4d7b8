"""Run parliament, a real IAM policy linter, over a policy document and return its findings."""

from __future__ import annotations

import json
from typing import Any

from parliament import analyze_policy_string

# Findings that are intended and documented: none today. parliament reads the public-read statement
# (Principal "*", s3:GetObject on objects only) without a finding; if a future version flags it, list the issue
# key here with the reason rather than loosening the assertion.
INTENDED: frozenset[str] = frozenset()


def findings(document: str | dict[str, Any]) -> list[str]:
    """parliament's findings (issue, detail) for a policy, minus the intended ones."""
    text = document if isinstance(document, str) else json.dumps(document)
    policy = analyze_policy_string(text, include_community_auditors=True)
    return [f"{f.issue}: {f.detail}" for f in policy.findings if f.issue not in INTENDED]
