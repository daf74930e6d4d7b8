"""Run a Pulumi program under the SDK's mock runtime and record everything it declares.

``Mocks.new_resource`` does not see parents, dependencies or resource options, but the mock monitor receives
the whole registration request; :class:`RecordingMonitor` keeps it, and computes URNs as the engine does (the
whole parent type chain, the stack's root type left out) where the SDK's mock monitor keeps only the last parent
type. Two registrations with one URN fail the run with :class:`DuplicateUrnError`, as the engine would.
Secrets and unknowns keep their markers (:class:`Secret`, :data:`UNKNOWN`), so callers can assert that a value
is secret and ``plan`` can mask it.
"""

from __future__ import annotations

import asyncio
import math
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack

from divio_storage_infra.preview import gcsettings, sourcepositions

_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


_STACK_TYPE = "pulumi:pulumi:Stack"


class DuplicateUrnError(Exception):
    """Two registrations share one URN (the engine aborts such a program); names both declarations."""

    def __init__(self, urn: str, first: DeclaredResource, second_parent: str | None) -> None:
        def where(parent: str | None) -> str:
            top = parent is None or parent.split("::")[2:3] == [_STACK_TYPE]
            return "at the top level" if top else f"under {parent}"

        # Sorted, not in registration order: the SDK registers from several threads, the message must not vary.
        first_where, second_where = sorted((where(first.parent), where(second_parent)))
        super().__init__(
            f"duplicate URN {urn}: declared twice, as {first.type} {first.name!r} {first_where} and as "
            f"{first.type} {first.name!r} {second_where}; give one of them another name"
        )
        self.urn = urn


class _Unknown:
    """A value only known after apply."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        # Unpickled (a plan worker's record) as the module's one instance, which callers compare with ``is``.
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A value marked secret by the program; ``value`` is what the mocks saw."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([secret])"


@dataclass(frozen=True)
class ResourceRef:
    """A reference to another resource, by URN."""

    urn: str


@dataclass
class DeclaredResource:
    """One resource registration as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str | None
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    aliases: list[dict[str, Any]]
    inputs: dict[str, Any]
    import_id: str | None = None
    """The ``import`` option: the id of an existing resource the engine takes over instead of creating one."""


@dataclass
class Declared:
    """Everything a program declared: resources in registration order, invoke calls and stack outputs."""

    resources: list[DeclaredResource] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[DeclaredResource]:
        """All resources of one type token, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> DeclaredResource:
        """The single resource of ``type_`` (and ``name``); fails loudly when there are none or several."""
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.by_type(type_)]
            raise AssertionError(f"expected one {type_} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> DeclaredResource:
        """The resource with this URN."""
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)


def decode(value: Any) -> Any:
    """Turn a JSON-decoded property value with Pulumi's markers into plain values, Secret and UNKNOWN."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return Secret(decode(value.get("value")))
        if sig == _RESOURCE_SIG:
            return ResourceRef(str(value.get("urn")))
        if sig == _OUTPUT_SIG:
            if "value" not in value:
                inner: Any = UNKNOWN
            else:
                inner = decode(value["value"])
            return Secret(inner) if value.get("secret") else inner
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        # Protobuf carries every number as a double; the programs only declare integers.
        return int(value)
    return value


def _struct(message: struct_pb2.Struct) -> dict[str, Any]:
    """A registration's property struct, decoded in one pass (what ``decode(MessageToDict(message))`` gives).

    Every registration and output registration goes through here; protobuf's generic JSON printer costs several
    times as much as reading the struct's values directly, and builds a throw-away copy first.
    """
    fields = message.fields
    decoded = _decoded_dict({key: _value(fields[key]) for key in fields})
    assert isinstance(decoded, dict)  # a top-level property map is never itself a marker
    return decoded


def _decoded_dict(value: dict[str, Any]) -> Any:
    # The same markers decode() reads, on a dict whose values are decoded already.
    sig = value.get(_SIG_KEY)
    if sig == _SECRET_SIG:
        return Secret(value.get("value"))
    if sig == _RESOURCE_SIG:
        return ResourceRef(str(value.get("urn")))
    if sig == _OUTPUT_SIG:
        inner = value.get("value", UNKNOWN)
        return Secret(inner) if value.get("secret") else inner
    return value


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return UNKNOWN if text == _UNKNOWN_VALUE else text
    if kind == "struct_value":
        fields = value.struct_value.fields
        return _decoded_dict({key: _value(fields[key]) for key in fields})
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            # As protobuf's JSON printer: such a value would read back as a string.
            raise ValueError(f"cannot record the number {number} in a property")
        # Protobuf carries every number as a double; the programs only declare integers.
        return int(number) if number.is_integer() else number
    return None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration request, invoke and output registration."""

    def __init__(self, mocks: pulumi_mocks.Mocks, *, unknown_invokes: bool = False) -> None:
        super().__init__(mocks)
        self.declared = Declared()
        self.unknown_invokes = unknown_invokes
        # URN -> the type chain it was made with ("a$b$c"), so children extend their parent's whole chain.
        self._chains: dict[str, str] = {}
        self._by_urn: dict[str, DeclaredResource] = {}
        self.duplicates: list[DuplicateUrnError] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: ``urn:pulumi:<stack>::<project>::<parent chain>$<type>::<name>``, root stack left out."""
        chain = type_
        if parent and type_ != _STACK_TYPE:
            parent_chain = self._chains.get(parent)
            if parent_chain is None:  # a parent this monitor never made: read its chain from the URN itself
                parent_chain = parent.split("::")[2]
            if parent_chain != _STACK_TYPE:
                chain = f"{parent_chain}${type_}"
        urn = "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), chain, name])
        self._chains[urn] = chain
        return urn

    def RegisterResource(self, request: Any) -> Any:
        if request.type == _STACK_TYPE:
            return super().RegisterResource(request)
        declared = self._declared(request)
        with self._lock:  # the SDK registers from several threads; check and claim the URN in one step
            first = self._by_urn.setdefault(declared.urn, declared)
        if first is not declared:
            # Raised by run() once the program is done: raised here, it would only fail an SDK future.
            self.duplicates.append(DuplicateUrnError(declared.urn, first, declared.parent))
            return super().RegisterResource(request)
        response = super().RegisterResource(request)
        self.declared.resources.append(declared)
        return response

    def _declared(self, request: Any) -> DeclaredResource:
        urn = self.make_urn(request.parent, request.type, request.name)
        return DeclaredResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items()) if v.urns
            },
            provider=request.provider or None,
            ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            aliases=[json_format.MessageToDict(a) for a in request.aliases],
            inputs=_struct(request.object),
            import_id=request.importId or None,
        )

    def Invoke(self, request: Any) -> Any:
        if request.tok == "pulumi:pulumi:getResource":
            # Looking up a resource declared in this run is answered from the run itself.
            return super().Invoke(request)
        self.declared.calls.append((request.tok, _struct(request.args)))
        if self.unknown_invokes:
            # What a fresh preview gets for an invoke on resources that do not exist yet; the SDK then skips
            # the program's applies on the result, so no placeholder ever looks like a real key.
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = _struct(request.outputs)
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.declared.outputs = outputs
        else:
            self.declared.component_outputs[request.urn] = outputs
        return super().RegisterResourceOutputs(request)


class EchoMocks(pulumi_mocks.Mocks):
    """Mocks that echo inputs as state; ``outputs`` adds per-type attributes, ``calls`` answers invokes."""

    def __init__(
        self,
        outputs: Mapping[str, Callable[[pulumi_mocks.MockResourceArgs], dict[str, Any]]] | None = None,
        calls: Mapping[str, Callable[[pulumi_mocks.MockCallArgs], dict[str, Any]]] | None = None,
    ) -> None:
        self.outputs = dict(outputs or {})
        self.calls = dict(calls or {})

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        """Echo the inputs, plus whatever ``outputs`` computes for this type (an ``id`` there is the resource id)."""
        state = dict(args.inputs)
        extra = self.outputs.get(args.typ)
        if extra is not None:
            state.update(extra(args))
        return str(state.pop("id", f"{args.name}-id")), state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer an invoke from ``calls``; an unexpected invoke is an error, not a silent empty answer."""
        handler = self.calls.get(args.token)
        if handler is None:
            raise NotImplementedError(f"no mock answer for invoke {args.token}")
        # The mock monitor iterates the failures whenever it gets a tuple: an empty list, never None.
        return handler(args), []


def run(
    program: Callable[[], None],
    *,
    mocks: pulumi_mocks.Mocks | None = None,
    project: str = "divio-storage",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    unknown_invokes: bool = False,
) -> Declared:
    """Run ``program`` under the mock runtime with ``config`` (``namespace:key`` -> string); return what it declared.

    ``unknown_invokes`` answers every provider invoke as unknown, as a preview of new resources does. Mocks are
    process-global in the SDK; every call installs fresh ones and leaves no loop, thread or task behind.
    """
    # Fewer collections and no source positions while the program runs; see .gcsettings and .sourcepositions (the
    # offline engine only, never a real run).
    with gcsettings.one_run(), sourcepositions.omitted():
        return _run(program, mocks, project, stack, config, secret_keys, preview, unknown_invokes)


def _run(
    program: Callable[[], None],
    mocks: pulumi_mocks.Mocks | None,
    project: str,
    stack: str,
    config: Mapping[str, str] | None,
    secret_keys: list[str] | None,
    preview: bool,
    unknown_invokes: bool,
) -> Declared:
    monitor = RecordingMonitor(mocks or EchoMocks(), unknown_invokes=unknown_invokes)
    loop = asyncio.new_event_loop()
    # The SDK talks to the monitor from executor threads and gives each thread an event loop it never closes;
    # creating (and later closing) those loops here keeps the interpreter's exit free of loop finaliser noise.
    worker_loops: list[asyncio.AbstractEventLoop] = []

    def init_worker() -> None:
        worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(worker_loop)
        worker_loops.append(worker_loop)

    executor = ThreadPoolExecutor(max_workers=4, initializer=init_worker)
    loop.set_default_executor(executor)
    # Ctrl-C stops the loop instead of raising inside whichever task runs: the SDK swallows a KeyboardInterrupt
    # raised in its own tasks and then waits forever for the registration that task would have finished.
    interrupted = _catch_interrupts(loop)
    try:
        asyncio.set_event_loop(loop)
        set_all_config(dict(config or {}), list(secret_keys or []))
        pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        # set_mocks registers and finishes a root stack at once; run_in_stack makes the one that collects
        # the program's exports (set_mocks also gave the settings a fresh RPC manager and output set).
        pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
        try:
            loop.run_until_complete(run_in_stack(program))
        except RuntimeError:
            if interrupted:
                raise KeyboardInterrupt from None  # the loop was stopped by Ctrl-C, not by the program
            raise
        if monitor.duplicates:
            raise monitor.duplicates[0]
    finally:
        _release_interrupts(loop)
        # A failed program leaves output tasks bound to this loop: cancel them here (left alone they would be
        # reported as destroyed while pending at exit) and forget them (the next run would wait on them forever).
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending and interrupted:
            # After Ctrl-C some SDK tasks wait on work that will never come: give them a moment, then let go.
            _done, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=_INTERRUPT_GRACE_SECONDS))
            for task in stuck:
                task._log_destroy_pending = False  # type: ignore[attr-defined] # known and abandoned on purpose
        elif pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        with pulumi_settings.SETTINGS.lock:
            pulumi_settings.SETTINGS.outputs.clear()
        executor.shutdown(wait=not interrupted, cancel_futures=bool(interrupted))
        for worker_loop in worker_loops:
            worker_loop.close()
        asyncio.set_event_loop(None)
        loop.close()
    return monitor.declared


_INTERRUPT_GRACE_SECONDS = 2.0
"""How long the run's tasks get to finish after Ctrl-C before the run is abandoned."""


def _catch_interrupts(loop: asyncio.AbstractEventLoop) -> list[bool]:
    """Route SIGINT to stopping ``loop`` (main thread only); the returned list is non-empty once it fired."""
    fired: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        return fired

    def stop() -> None:
        fired.append(True)
        loop.stop()

    loop.add_signal_handler(signal.SIGINT, stop)
    return fired


def _release_interrupts(loop: asyncio.AbstractEventLoop) -> None:
    """Give SIGINT back to Python's default handler (KeyboardInterrupt)."""
    if threading.current_thread() is threading.main_thread():
        loop.remove_signal_handler(signal.SIGINT)


def export(name: str, value: Any) -> None:
    """``pulumi.export``, re-exported so programs run by :func:`run` need only this module."""
    pulumi.export(name, value)
