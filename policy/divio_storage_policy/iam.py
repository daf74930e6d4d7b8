"""Rules for the IAM policies of storage users: what a policy attached to a user that gets S3 rights may grant."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from divio_storage_policy.model import UNKNOWN, Resource, Violation, as_list, of_types, parse_document, violation

USERS = ("aws:iam/user:User",)
USER_POLICIES = ("aws:iam/userPolicy:UserPolicy",)
POLICIES = ("aws:iam/policy:Policy",)
USER_ATTACHMENTS = ("aws:iam/userPolicyAttachment:UserPolicyAttachment",)
ATTACHMENTS = ("aws:iam/policyAttachment:PolicyAttachment",)
EXCLUSIVE_ATTACHMENTS = ("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",)

FULL_WILDCARDS = frozenset({"*", "*:*", "s3:*"})
# S3 actions that act on the whole account rather than on one bucket or its objects.
ACCOUNT_WIDE_ACTIONS = (
    "s3:createaccessgrantsinstance",
    "s3:createbucket",
    "s3:createjob",
    "s3:createmultiregionaccesspoint",
    "s3:getaccountpublicaccessblock",
    "s3:listaccessgrantsinstances",
    "s3:listaccesspoints",
    "s3:listallmybuckets",
    "s3:listjobs",
    "s3:listmultiregionaccesspoints",
    "s3:liststoragelensconfigurations",
    "s3:putaccountpublicaccessblock",
    "s3:putstoragelensconfiguration",
)


@dataclass(frozen=True)
class UserDocument:
    """One policy document that applies to a user: the resource declaring it and the user's key (name or URN)."""

    resource: Resource
    user: str
    document: Any


def _user_key(resources: Sequence[Resource], holder: Resource, key: str, value: Any) -> str | None:
    users = {u.urn: u for u in of_types(resources, USERS)}
    for urn in holder.property_dependencies.get(key, ()):
        if urn in users:
            name = users[urn].props.get("name")
            return name if isinstance(name, str) else urn
    return value if isinstance(value, str) else None


def _policy_for(resources: Sequence[Resource], holder: Resource, key: str, arn: Any) -> Resource | None:
    policies = {p.urn: p for p in of_types(resources, POLICIES)}
    for urn in holder.property_dependencies.get(key, ()):
        if urn in policies:
            return policies[urn]
    for policy in policies.values():
        if isinstance(arn, str) and policy.props.get("arn") == arn:
            return policy
    return None


def user_documents(resources: Sequence[Resource]) -> list[UserDocument]:
    """Every policy document attached to a user: inline user policies and managed policies attached to users."""
    found: list[UserDocument] = []
    for inline in of_types(resources, USER_POLICIES):
        user = _user_key(resources, inline, "user", inline.props.get("user"))
        found.append(UserDocument(inline, user or inline.urn, parse_document(inline.props.get("policy"))))
    attachments: list[tuple[Resource, list[Any], str, Any]] = []
    for a in of_types(resources, USER_ATTACHMENTS):
        attachments.append((a, [a.props.get("user")], "policyArn", a.props.get("policyArn")))
    for a in of_types(resources, ATTACHMENTS):
        attachments.append((a, as_list(a.props.get("users")), "policyArn", a.props.get("policyArn")))
    for a in of_types(resources, EXCLUSIVE_ATTACHMENTS):
        for arn in as_list(a.props.get("policyArns")):
            attachments.append((a, [a.props.get("userName")], "policyArns", arn))
    for attachment, users, key, arn in attachments:
        policy = _policy_for(resources, attachment, key, arn)
        if policy is None or not users:
            continue
        user_key = "users" if attachment.type in ATTACHMENTS else ("userName" if key == "policyArns" else "user")
        for value in users:
            user = _user_key(resources, attachment, user_key, value) or attachment.urn
            found.append(UserDocument(policy, user, parse_document(policy.props.get("policy"))))
    return found


def _allows(document: Any) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(document, Mapping):
        return []
    statements = [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]
    return [(i, s) for i, s in enumerate(statements) if s.get("Effect") == "Allow"]


def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a).lower() for a in as_list(statement.get("Action")) if a is not UNKNOWN]


def storage_documents(resources: Sequence[Resource]) -> list[UserDocument]:
    """The documents of storage users: users with at least one allowed S3 action (or a wildcard)."""
    documents = user_documents(resources)
    storage_users = {
        d.user
        for d in documents
        for _, s in _allows(d.document)
        if any(a == "*" or a.startswith("s3:") or a.startswith("*:") for a in _actions(s)) or "NotAction" in s
    }
    return [d for d in documents if d.user in storage_users]


def _label(index: int, statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"policy Statement[{index}]" + (f" ({sid})" if isinstance(sid, str) and sid else "")


def _each(resources: Sequence[Resource]) -> Iterator[tuple[UserDocument, int, Mapping[str, Any]]]:
    seen: set[tuple[str, int]] = set()
    for document in storage_documents(resources):
        for index, statement in _allows(document.document):
            # A managed policy attached to several users is reported once.
            if (document.resource.urn, index) not in seen:
                seen.add((document.resource.urn, index))
                yield document, index, statement


def no_s3_wildcard(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """No storage user is allowed ``s3:*`` (or ``*``, or everything but some actions through NotAction)."""
    for document, index, statement in _each(resources):
        wild = [a for a in _actions(statement) if a in FULL_WILDCARDS]
        if wild or "NotAction" in statement:
            yield violation(
                document.resource,
                _label(index, statement),
                f"allows {', '.join(wild) or 'everything but NotAction'} to the storage user {document.user}",
                "list the actions the app needs (GetObject, PutObject, DeleteObject, ListBucket, ...)",
            )


def no_wildcard_resource(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """No storage user's statement applies to every resource (``*``, all buckets, or NotResource)."""
    for document, index, statement in _each(resources):
        targets = [str(r) for r in as_list(statement.get("Resource")) if r is not UNKNOWN]
        wild = [r for r in targets if r == "*" or r.lower().split(":::", 1)[-1] in ("*", "*/*")]
        if wild or "NotResource" in statement:
            yield violation(
                document.resource,
                _label(index, statement),
                f"applies to {', '.join(wild) or 'everything but NotResource'} for the storage user {document.user}",
                "name the website's bucket ARNs (arn:aws:s3:::<bucket> and arn:aws:s3:::<bucket>/*)",
            )


def no_account_wide_actions(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """No storage user gets account-level S3 actions (list all buckets, create buckets, account access blocks...)."""
    for document, index, statement in _each(resources):
        hits = [
            a
            for a in _actions(statement)
            if a not in FULL_WILDCARDS and any(fnmatch.fnmatchcase(x, a) for x in ACCOUNT_WIDE_ACTIONS)
        ]
        if hits:
            yield violation(
                document.resource,
                _label(index, statement),
                f"allows the account-wide {', '.join(hits)} to the storage user {document.user}",
                "drop them; a website's user needs only its own buckets and their objects",
            )
