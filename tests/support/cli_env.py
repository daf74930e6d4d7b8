"""Running the console entry point as a user does: a subprocess whose environment names CAs and proxies only as
a test says (every such variable of the test process is removed first)."""

from __future__ import annotations

import os
import subprocess
import sys

NETWORK_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any CA, proxy or storage DSN variable (in any case), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in NETWORK_VARIABLES}
    for name in ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN"):
        env.pop(name, None)
    return {**env, **extra}


def run_cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``divio-storage ARGS`` run to the end."""
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def spawn_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``divio-storage ARGS`` started (several run at once; ``communicate()`` collects each)."""
    return subprocess.Popen(
        [sys.executable, "-m", "divio_storage_infra", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
