"""``divio-storage dev``: a website's storage on this machine, created from its plan, used by a Django app.

Each test runs the command as a developer does (a foreground process, stopped with Ctrl-C or SIGTERM) against a
stack config of the repository's per-website project, and uses only what it writes: the env file. The app runs in a
fresh interpreter whose environment is the env file's variables and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from support import dev_app
from support.devprocess import (
    REPO,
    DevProcess,
    alive,
    dev_args,
    group_members,
    run_dev,
    stack_file,
    start_dev,
)

from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.localstores.clients import s3_client
from divio_storage_infra.localstores.ports import free_port

pytestmark = pytest.mark.emulator
APP = Path(dev_app.__file__)


def launch(tmp: Path, cloud: str, *extra: str, name: str = "dev", **overrides: object) -> DevProcess:
    """``dev`` for the ``cloud`` stack on a free port, its env file and data directory under ``tmp/name``."""
    where = tmp / name
    where.mkdir(exist_ok=True)
    stack = stack_file(where, cloud, **overrides)
    args = dev_args(stack, "--port", str(free_port()), *extra)
    return start_dev(args, where, where / ".env.storage", where / "data")


def run_app(env_file: Path, *args: str) -> dict[str, dict[str, str]]:
    """The app of support/dev_app.py with only the env file's variables (and PATH) in its environment."""
    done = subprocess.run(
        [sys.executable, str(APP), str(env_file), *args],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, dict[str, str]] = json.loads(done.stdout)
    return result


def anonymous(url: str, ca: str | None = None) -> requests.Response:
    """GET without credentials from the environment (a browser's fetch of a URL)."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=20, verify=ca or True)


def stopped_cleanly(dev: DevProcess, signum: int, *, group: bool) -> None:
    """Stop ``dev`` with ``signum``: it exits 0, and no process it started, nor its lock or env file, is left."""
    assert dev.server_pids, "the lock file names the servers while dev runs"
    assert dev.stop(signum, group=group) == 0, dev.text()
    for pid in dev.server_pids:
        assert not alive(pid), f"server {pid} outlived dev:\n{dev.text()}"
        assert group_members(pid) == [], f"processes of server group {pid} outlived dev"
    assert group_members(dev.process.pid) == []
    assert not (dev.data_dir / "dev.lock").exists()
    assert not dev.env_file.exists()


def launch_registry_entry(tmp: Path, website: str, environment: str) -> DevProcess:
    """``dev --program`` for an entry of the repository's platform registry (stacks/platform/websites.yaml)."""
    args = ["--program", str(REPO / "stacks" / "platform"), "--website", website, "--environment", environment]
    return start_dev([*args, "--port", str(free_port())], tmp, tmp / ".env.storage", tmp / "data")


@pytest.fixture(scope="module", params=["aws", "azure", "exoscale"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    """``dev`` of the AWS stack (on SeaweedFS), of the Azure stack (on Azurite), and of an Exoscale entry of the
    platform registry (``--program``; SeaweedFS), plain HTTP."""
    where = tmp_path_factory.mktemp(f"dev-{request.param}")
    if request.param == "exoscale":
        dev = launch_registry_entry(where, "shop-ch", "live")
    else:
        dev = launch(where, request.param)
    yield dev
    stopped_cleanly(dev, signal.SIGINT, group=False)


def test_django_app_configured_from_the_env_file_saves_and_serves_files(running: DevProcess) -> None:
    app = run_app(running.env_file)
    env = running.env()
    assert app["public"]["read"] == dev_app.PUBLIC_BODY.decode()
    assert app["private"]["read"] == dev_app.PRIVATE_BODY.decode()
    # The public file's URL is under MEDIA_URL, on loopback, and anyone may fetch it.
    public_url = app["public"]["url"]
    assert public_url.startswith(env["MEDIA_URL"]) and urlsplit(public_url).hostname == "127.0.0.1"
    response = anonymous(public_url)
    assert response.status_code == 200, response.text[:300]
    assert response.content == dev_app.PUBLIC_BODY
    # The private file: refused without its signature, served with it.
    signed = app["private"]["url"]
    unsigned = urlsplit(signed)._replace(query="").geturl()
    assert anonymous(unsigned).status_code in (403, 404), "a private file must not be served anonymously"
    served = anonymous(signed)
    assert served.status_code == 200, served.text[:300]
    assert served.content == dev_app.PRIVATE_BODY


def test_env_file_holds_the_dsns_with_the_local_endpoint_and_no_secret_in_the_summary(running: DevProcess) -> None:
    env = running.env()
    assert set(env) == {"DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "MEDIA_URL"}
    assert oct(running.env_file.stat().st_mode & 0o777) == "0o600"
    public, private = parse_dsn(env["DEFAULT_STORAGE_DSN"]), parse_dsn(env["PRIVATE_STORAGE_DSN"])
    endpoint = env["MEDIA_URL"].split("/devstoreaccount1")[0].rstrip("/") if public.scheme == "az" else None
    for parsed in (public, private):
        assert parsed.endpoint_url is not None and parsed.endpoint_url.startswith("http://127.0.0.1:")
        assert parsed.custom_domain is None, "a custom media domain does not resolve locally"
        if endpoint:
            assert parsed.endpoint_url.startswith(endpoint)
    summary = running.text()
    secret = public.secret if public.scheme == "s3" else public.account_key
    assert secret and secret not in summary
    assert "app_settings" in summary and str(running.env_file) in summary
    if "(aws," in summary:
        assert "TLS-only deny is left out" in summary
    if "(exoscale," in summary:
        # Exoscale's public store is public through object ACLs, which SeaweedFS does not serve by: said so.
        assert public.acl == "public-read" and "public-read bucket policy locally" in summary


def test_a_second_dev_on_the_same_data_directory_says_one_is_running(tmp_path: Path) -> None:
    running = launch(tmp_path, "aws")
    stack = next(running.env_file.parent.glob("Pulumi.dev-*.yaml"))
    try:
        done = run_dev(
            dev_args(stack, "--port", str(free_port()), "--data-dir", str(running.data_dir), "--env-file", "o.env"),
            running.env_file.parent,
        )
    finally:
        still_running = running.process.poll() is None and running.env_file.exists()
        stopped_cleanly(running, signal.SIGTERM, group=True)
    assert done.returncode == 2, done.stderr
    assert "running already" in done.stderr and str(running.env_file) in done.stderr
    assert still_running, "the first one keeps running"


def test_restart_keeps_the_files_and_every_process_ends_on_sigint_or_sigterm(tmp_path: Path) -> None:
    first = launch(tmp_path, "aws")
    saved = run_app(first.env_file)
    # Ctrl-C in a terminal reaches the whole foreground process group; SIGTERM may come to dev alone.
    stopped_cleanly(first, signal.SIGINT, group=True)
    second = launch(tmp_path, "aws")
    try:
        names = [f"{store}={saved[store]['name']}" for store in ("public", "private")]
        assert run_app(second.env_file, "--read", *names) == {
            "public": dev_app.PUBLIC_BODY.decode(),
            "private": dev_app.PRIVATE_BODY.decode(),
        }
    finally:
        stopped_cleanly(second, signal.SIGTERM, group=False)
    third = launch(tmp_path, "aws", "--reset")
    try:
        public = third.env()["MEDIA_URL"] + saved["public"]["name"]
        assert anonymous(public).status_code in (403, 404), "--reset empties the data directory"
    finally:
        stopped_cleanly(third, signal.SIGTERM, group=True)


def _median_get(url: str, times: int = 5) -> float:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        assert anonymous(url).status_code == 200
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def test_latency_shaping_is_added_to_every_answer(tmp_path: Path) -> None:
    plain = launch(tmp_path, "aws", name="plain")
    shaped = launch(tmp_path, "aws", "--latency", "400", "--bandwidth", "20", name="shaped")
    try:
        urls = [run_app(dev.env_file)["public"]["url"] for dev in (plain, shaped)]
        direct, relayed = _median_get(urls[0]), _median_get(urls[1])
        # Every answer waits 400 ms before its first byte; without the relay the same GET takes far less.
        assert relayed >= 0.4, relayed
        assert relayed - direct >= 0.3, (direct, relayed)
        assert "shaping relay" in shaped.text() and "400 ms per answer" in shaped.text()
    finally:
        stopped_cleanly(plain, signal.SIGTERM, group=False)
        stopped_cleanly(shaped, signal.SIGTERM, group=False)


def test_tls_serves_https_with_a_ca_the_env_file_names(tmp_path: Path) -> None:
    dev = launch(tmp_path, "aws", "--tls")
    try:
        env = dev.env()
        ca = env["AWS_CA_BUNDLE"]
        assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == ca and Path(ca).is_file()
        assert parse_dsn(env["DEFAULT_STORAGE_DSN"]).endpoint_url.startswith("https://127.0.0.1:")  # type: ignore[union-attr]
        app = run_app(dev.env_file)  # its environment is the env file: the CA comes from there alone
        assert anonymous(app["public"]["url"], ca).content == dev_app.PUBLIC_BODY
        with pytest.raises(requests.exceptions.SSLError):
            anonymous(app["public"]["url"])  # not trusted without the CA
        assert "trust" in dev.text() and ca in dev.text()
        # Over TLS the bucket policy keeps its TLS-only deny, as in production.
        admin = json.loads((dev.data_dir / "admin-key.json").read_text())
        endpoint = str(parse_dsn(env["DEFAULT_STORAGE_DSN"]).endpoint_url)
        client = s3_client(endpoint, (admin["accessKeyId"], admin["secretAccessKey"]), verify=ca)
        bucket = str(parse_dsn(env["DEFAULT_STORAGE_DSN"]).bucket)
        policy = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
        assert "DenyInsecureTransport" in [s.get("Sid") for s in policy["Statement"]]
    finally:
        stopped_cleanly(dev, signal.SIGINT, group=False)


def test_bad_config_is_reported_before_anything_starts(tmp_path: Path) -> None:
    stack = stack_file(tmp_path, "aws", region="mars-north-1")
    done = run_dev(dev_args(stack, "--data-dir", str(tmp_path / "data")), tmp_path)
    assert done.returncode == 2
    assert "region" in done.stderr and "mars-north-1" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / ".env.storage").exists()


def test_a_port_in_use_is_reported_with_the_way_out(tmp_path: Path) -> None:
    stack = stack_file(tmp_path, "aws")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_dev(dev_args(stack, "--port", str(port), "--data-dir", str(tmp_path / "data")), tmp_path)
    assert done.returncode == 2
    assert str(port) in done.stderr and "--port" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "dev.lock").exists()
