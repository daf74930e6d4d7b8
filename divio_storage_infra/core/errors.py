"""The one error type of the pure core: what is wrong, with which value, and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One invalid value: the config field, the value given and what would be accepted."""

    field: str
    value: object
    allowed: str

    def __str__(self) -> str:
        return f"{self.field}: {self.value!r} is not allowed; {self.allowed}"


class SpecError(ValueError):
    """A storage spec (or a DSN) is invalid; raised before any resource is declared.

    ``problems`` lists every invalid value found, so one run reports all of them.
    """

    def __init__(self, problems: list[Problem], *, context: str = "") -> None:
        self.problems = list(problems)
        self.context = context
        head = f"invalid storage spec{f' for {context}' if context else ''}"
        if len(self.problems) == 1:
            message = f"{head}: {self.problems[0]}"
        else:
            message = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)

    @classmethod
    def one(cls, field: str, value: object, allowed: str, *, context: str = "") -> SpecError:
        """Build the error for a single invalid value."""
        return cls([Problem(field, value, allowed)], context=context)
