"""Source positions while the offline engine runs a program: not collected, because nothing here reads them.

For every registration the Pulumi SDK walks the whole Python stack (``traceback.extract_stack``: each frame's file
is stat'ed and its source line read, then turned into a ``file://`` URI and a protobuf message) so that the Pulumi
CLI can point at the line that declared a resource. That walk was about a fifth of a platform plan's CPU time, and
it grows with the depth of the stack, so a program whose resources are declared inside components paid more of it
than one that declares them at the top level. The offline engine's monitor (:mod:`.mockrun`) records inputs,
options, parents and dependencies, never a source position, and the plan document has none: :func:`omitted` makes
the SDK send an empty stack trace instead, which it already does whenever it cannot find the declaring frame.

Only :func:`divio_storage_infra.preview.mockrun.run` enters :func:`omitted`. A real ``pulumi up`` or ``pulumi
preview`` runs the program in the Pulumi language host, which never imports this module, so the CLI keeps its
source positions there; the library's components change nothing about them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from divio_storage_infra.preview.outermost import Outermost


def _empty_stack_trace() -> Any:
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


def _omit() -> Callable[[], None]:
    from pulumi.runtime import resource as sdk_resource

    if not hasattr(sdk_resource, "_get_stack_trace"):
        return lambda: None
    saved = sdk_resource._get_stack_trace
    sdk_resource._get_stack_trace = _empty_stack_trace

    def restore() -> None:
        sdk_resource._get_stack_trace = saved

    return restore


_omitted = Outermost(_omit)


def omitted() -> Outermost:
    """Registrations inside carry an empty stack trace and no source position; nests (the outermost use restores).

    If the SDK no longer has the function this replaces (another SDK version), nothing is changed: the run is then
    only slower, never different.
    """
    return _omitted
