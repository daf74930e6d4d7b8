"""Azurite's blob service (npm ``azurite``, installed into ``.tools/`` by the project's set-up) on loopback.

It enforces container public access, CORS (origin and method) and SAS scope (protocol included) realistically.
The website's storage account is played by Azurite's published development account.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from divio_storage_infra.localstores import servers
from divio_storage_infra.localstores.tlsca import ServerCert

ACCOUNT = "devstoreaccount1"
"""Azurite's built-in development account."""
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""The development account's key, published by Microsoft (not a secret)."""
SETUP_HINT = "run `bash scripts/bootstrap` (npm installs Azurite into .tools/)"
_CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "azurite-blob"


def azurite_binary() -> Path:
    """``azurite-blob``: in ``$DIVIO_STORAGE_TOOLS`` or the checkout's ``.tools/``, else on ``PATH``."""
    tools = os.environ.get("DIVIO_STORAGE_TOOLS")
    candidates = [Path(tools) / "node_modules" / ".bin" / "azurite-blob"] if tools else []
    candidates.append(_CHECKOUT_TOOLS)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    found = shutil.which("azurite-blob")
    if found is None:
        raise servers.ServerError(f"Azurite not found in {_CHECKOUT_TOOLS.parent} nor on PATH; {SETUP_HINT}")
    return Path(found)


def start_azurite(
    workdir: Path,
    *,
    data: Path | None = None,
    tls: ServerCert | None = None,
    port: int | None = None,
    timeout: float = 60.0,
) -> servers.Server:
    """Start the blob service checking no API versions: data in ``data`` (None: in memory), HTTPS with ``tls``,
    on ``port`` (None: a free one). The server's URL names the development account's path."""
    binary = azurite_binary()
    env = dict(os.environ)
    # Custom accounts would replace the development account the applier and the DSNs use.
    env.pop("AZURITE_ACCOUNTS", None)
    storage = ["--location", str(data)] if data is not None else ["--inMemoryPersistence"]
    certificate = ["--cert", str(tls.cert), "--key", str(tls.key)] if tls else []
    scheme = "https" if tls else "http"

    def command(port: int) -> list[str]:
        if data is not None:
            data.mkdir(parents=True, exist_ok=True)
        return [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            *certificate,
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            *storage,
            "--disableTelemetry",
        ]

    launch = servers.Launch(
        name="azurite",
        command=command,
        url_for=lambda p: f"{scheme}://127.0.0.1:{p}/{ACCOUNT}",
        # Any HTTP answer (Azurite refuses the anonymous listing with 403) means it is serving.
        ready=lambda url: servers.answers(f"{url}?comp=list", ca_bundle=tls.cert if tls else None),
        env=env,
    )
    return servers.start(launch, workdir, port=port, timeout=timeout)
