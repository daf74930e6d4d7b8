"""Per-website media storage as Pulumi components, and the storage DSN a Django app reads.

The package root imports only the pure core (spec, naming, policies, dsn), never Pulumi or a cloud SDK,
so the app side and a plain ``import divio_storage_infra`` stay light. Components live in
``divio_storage_infra.components``.
"""

from divio_storage_infra.errors import Problem, SpecError

__all__ = ["Problem", "SpecError"]
