"""The one error type of the DSN layer."""

from __future__ import annotations

from divio_storage_infra.core.errors import Problem, SpecError


class DsnError(SpecError):
    """A DSN, or a value to format one from, is invalid. The message never contains the secret: it is masked."""

    def __init__(self, problems: list[Problem], *, context: str = "") -> None:
        super().__init__(problems, context=context)
        head = f"invalid storage DSN{f' for {context}' if context else ''}"
        if len(self.problems) == 1:
            message = f"{head}: {self.problems[0]}"
        else:
            message = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        self.args = (message,)
