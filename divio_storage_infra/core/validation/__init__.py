"""The spec's validation, one module per group of config keys; ``spec._build`` calls them in order.

Every function reads raw values through a :class:`~divio_storage_infra.core.validation.problems.Collector`, which
gathers every problem instead of stopping at the first, so one SpecError lists them all.
"""
