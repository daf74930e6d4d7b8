"""The foreground run of ``divio-storage dev``: lock, start, write the env file, summarise, wait, stop.

Every process it starts is stopped on SIGINT or SIGTERM (to it alone or to its process group), on any failure
while starting, and when it returns; the lock file goes with them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores import envfile
from divio_storage_infra.localstores.applier import UnappliedResource
from divio_storage_infra.localstores.lock import DataDirLock, Locked
from divio_storage_infra.localstores.relay import LIKE_CLOUD_BANDWIDTH_MBIT, LIKE_CLOUD_LATENCY_MS, Shaping
from divio_storage_infra.localstores.servers import PortInUse, Server, ServerError
from divio_storage_infra.localstores.website import DevOptions, RunningWebsite, reset, start_website

SETTINGS_SNIPPET = (
    "import os\n"
    "from divio_storage_infra import app_settings\n"
    'globals().update(app_settings(os.environ["DEFAULT_STORAGE_DSN"], os.environ.get("PRIVATE_STORAGE_DSN")))'
)


class Stop:
    """Set by SIGINT or SIGTERM; the foreground loop waits on it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on (to this process alone or to its process group)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        self.event.set()


def say(text: str) -> None:
    """A line of the summary on stdout, flushed (dev runs in the foreground, often piped to a log)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def shaping(args: argparse.Namespace) -> Shaping | None:
    """The relay's shaping from ``--like-cloud``, ``--latency`` and ``--bandwidth`` (None: no relay)."""
    if not (args.like_cloud or args.latency is not None or args.bandwidth is not None):
        return None
    latency = args.latency if args.latency is not None else (LIKE_CLOUD_LATENCY_MS if args.like_cloud else 0)
    bandwidth = (
        args.bandwidth if args.bandwidth is not None else (LIKE_CLOUD_BANDWIDTH_MBIT if args.like_cloud else None)
    )
    return Shaping(latency_ms=latency, bandwidth_mbit=bandwidth)


def serve(spec: StorageSpec, stack: str, data_dir: Path, args: argparse.Namespace) -> int:
    """Run ``spec``'s stores from ``data_dir`` until a signal; the exit status (see :func:`.dev.run`)."""
    env_file = args.env_file.resolve()
    stop = Stop()
    stop.install()
    lock = DataDirLock(data_dir)
    try:
        lock.acquire({"stack": stack, "env_file": str(env_file)})
    except Locked as error:
        warn(f"error: {error}")
        return 2
    servers: list[Server] = []
    running: RunningWebsite | None = None
    try:
        if args.reset:
            reset(data_dir)
        options = DevOptions(data_dir=data_dir, tls=args.tls, port=args.port, shaping=shaping(args))
        running = start_website(spec, options, servers.append)
        # The mock run of the program installs handlers of its own: ours again, for the foreground wait.
        stop.install()
        lock.update({"stack": stack, "env_file": str(env_file), "servers": running.pids()})
        envfile.write(env_file, running.env)
        summary(running, stack, data_dir, env_file)
        stop.event.wait()
        say(f"stopping ({stop.signal_name or 'done'}) ...")
        return 0
    except PortInUse as error:
        warn(f"error: {error}; pass --port with a free one (the app reads the port from the env file)")
        return 2
    except (ServerError, UnappliedResource, OSError) as error:
        warn(f"error: the local stores could not start: {error}")
        return 1
    except Exception as error:  # noqa: BLE001 - an SDK's error while creating the stores: one line, no traceback
        warn(f"error: the local stores could not be created: {type(error).__name__}: {str(error)[:300]}")
        return 3
    finally:
        if running is not None:
            running.stop()
        for server in servers:
            server.stop()
        if running is not None:
            env_file.unlink(missing_ok=True)
        lock.release()


def summary(running: RunningWebsite, stack: str, data_dir: Path, env_file: Path) -> None:
    """Print what runs where, what differs from production, and the Django settings to use."""
    spec = running.spec
    server = "Azurite" if spec.cloud == "azure" else "SeaweedFS"
    say(f"divio-storage dev: {spec.website}/{spec.environment} ({spec.cloud}, stack {stack}) on {server}")
    say(f"  endpoint   {running.url}")
    for store, name, url in running.stores:
        say(f"  {store:<10} {name}  {url}")
    if spec.cors_origins:
        say(f"  CORS       {', '.join(spec.cors_origins)}{' (uploads allowed)' if spec.allow_uploads else ''}")
    for note in running.notes:
        say(f"  note       {note}")
    if running.ca is not None:
        say(f"  TLS        trust {running.ca.bundle} (the env file names it in AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE,")
        say("             SSL_CERT_FILE); browsers: import it as an authority, or see docs/dev.md")
    say(f"  data       {data_dir} (kept across restarts; --reset empties it)")
    say(f"  env file   {env_file} ({', '.join(sorted(running.env))})")
    say("  Django settings (settings.py, with the env file loaded):")
    for line in SETTINGS_SNIPPET.splitlines():
        say(f"    {line}")
    say(f"Ready (process {os.getpid()}). Ctrl-C or SIGTERM stops every store.")


def warn(text: str) -> None:
    """A line on stderr (errors: the summary on stdout stays what it says)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
