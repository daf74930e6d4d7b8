"""``divio-storage dev``: run a website's storage on this machine, created from its plan, until Ctrl-C or SIGTERM.

SeaweedFS plays ``aws``, ``exoscale`` and ``s3-compatible`` stacks, Azurite ``azure`` ones, both on loopback. The
app's environment is written to an env file once the stores are ready; the summary says what runs where and which
Django settings to use. See docs/dev.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.core.configkeys import CREDENTIAL_KEYS
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec

DEFAULT_ENV_FILE = Path(".env.storage")
DATA_ROOT = Path(".divio-storage") / "dev"
"""Where data directories live by default: ``<DATA_ROOT>/<stack>`` under the current directory."""
NAMESPACE = "divio-storage"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``dev``'s options to its sub-command parser."""
    parser.add_argument("--stack", metavar="STACK|PATH", help="the website's stack (name or stack config file)")
    parser.add_argument("--project-dir", type=Path, help="directory of Pulumi.yaml (default: nearest with one)")
    parser.add_argument("--program", type=Path, metavar="DIR", help="a platform project whose registry names it")
    parser.add_argument("--registry", type=Path, metavar="FILE", help="the registry (default: DIR/websites.yaml)")
    parser.add_argument("--website", help="with --program: the registry entry's website")
    parser.add_argument("--environment", help="with --program: the registry entry's environment")
    parser.add_argument(
        "--env-file", type=Path, default=DEFAULT_ENV_FILE, help=f"where the app's environment goes ({DEFAULT_ENV_FILE})"
    )
    parser.add_argument("--data-dir", type=Path, help=f"where the stores keep their files ({DATA_ROOT}/<stack>)")
    parser.add_argument("--reset", action="store_true", help="empty the data directory first")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a local CA (kept in the data directory)")
    parser.add_argument("--port", type=_port, help="the store's port (default 8333 for S3, 10000 for Azure)")
    parser.add_argument(
        "--like-cloud", action="store_true", help="put a shaping relay in front: cloud-like latency and bandwidth"
    )
    parser.add_argument("--latency", type=_latency, metavar="MS", help="ms added to every answer (implies a relay)")
    parser.add_argument("--bandwidth", type=_bandwidth, metavar="MBIT", help="Mbit/s per connection (a relay)")


def run(args: argparse.Namespace) -> int:
    """Run the stores until SIGINT/SIGTERM: 0 after a clean stop, 1 when they could not start, 2 for bad input
    (bad stack config, a port in use, another ``dev`` on the same data directory)."""
    from divio_storage_infra.cli import devrun

    spec, stack = resolve(args)
    data_dir = args.data_dir if args.data_dir is not None else DATA_ROOT / stack
    return devrun.serve(spec, stack, data_dir.resolve(), args)


def resolve(args: argparse.Namespace) -> tuple[StorageSpec, str]:
    """The website's spec and stack name from ``--stack`` or ``--program``/``--website``/``--environment``;
    UsageError or SpecError (before anything starts) when they do not name one valid website."""
    if args.program is not None:
        if args.stack is not None:
            raise UsageError("give --stack or --program, not both")
        if not args.website or not args.environment:
            raise UsageError("--program needs --website and --environment (the registry entry to run)")
        return _from_registry(args.program, args.registry, args.website, args.environment)
    if args.website or args.environment or args.registry:
        raise UsageError("--website, --environment and --registry go with --program DIR")
    if args.stack is None:
        raise UsageError("name the website: --stack NAME, or --program DIR --website W --environment E")
    return _from_stack(args.stack, args.project_dir)


def _from_stack(stack: str, project_dir: Path | None) -> tuple[StorageSpec, str]:
    from divio_storage_infra.cli.plan import resolve_stack
    from divio_storage_infra.preview.stackconfig import StackConfigError

    try:
        config = resolve_stack(stack, project_dir)
    except StackConfigError as error:
        raise UsageError(str(error)) from None
    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix) :]: _decoded(v) for k, v in config.config.items() if k.startswith(prefix)}
    # Credentials in stack config are the provider's (and encrypted); dev gives the app a local key instead.
    spec_values = {k: v for k, v in values.items() if k not in CREDENTIAL_KEYS}
    return StorageSpec.from_dict(spec_values, context=config.stack), config.stack


def _from_registry(program: Path, registry: Path | None, website: str, environment: str) -> tuple[StorageSpec, str]:
    from divio_storage_infra.platform import load_registry

    path = registry if registry is not None else program / "websites.yaml"
    if not path.is_file():
        raise UsageError(f"no registry at {path}; pass --registry FILE")
    entries = load_registry(path).entries
    for entry in entries:
        if (entry.spec.website, entry.spec.environment) == (website, environment):
            return entry.spec, entry.spec.stack_name
    known = ", ".join(sorted(f"{e.spec.website}/{e.spec.environment}" for e in entries)[:10])
    raise SpecError.one("website", f"{website}/{environment}"[:80], f"one of the registry's entries: {known}")


def _decoded(value: Any) -> Any:
    # Stack config holds structured values (lists, maps) as JSON text and scalars as plain strings.
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _bounded(text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {what} from {low:g} to {high:g}, not {text[:20]!r}")
    return value


def _port(text: str) -> int:
    return int(_bounded(text, 1024, 65535, "a port number"))


def _latency(text: str) -> int:
    return int(_bounded(text, 0, 60_000, "milliseconds"))


def _bandwidth(text: str) -> float:
    return _bounded(text, 0.01, 100_000, "Mbit/s")
