"""``divio-storage dev`` refuses what cannot name one website before it starts anything: one clear line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.devprocess import REPO

from divio_storage_infra.cli.main import main
from divio_storage_infra.localstores import envfile
from divio_storage_infra.localstores.lock import DataDirLock, Locked
from divio_storage_infra.localstores.relay import Shaping


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--stack NAME"),
        (["--stack", "x", "--program", "stacks/platform"], "not both"),
        (["--program", "stacks/platform", "--website", "shop"], "--website and --environment"),
        (["--stack", "example-live", "--website", "shop"], "go with --program"),
        (["--program", "stacks/platform", "--website", "nope", "--environment", "live"], "nope/live"),
        (["--stack", "no-such-stack"], "no-such-stack"),
        (["--stack", "example-live", "--port", "80"], "a port number from 1024"),
        (["--stack", "example-live", "--latency", "soon"], "milliseconds"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO)
    try:
        code = main(["dev", *argv, "--data-dir", str(tmp_path / "data")])
    except SystemExit as exit_:  # argparse's own errors
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "data").exists(), "nothing starts before the input is known good"


def test_a_second_lock_on_a_data_directory_names_the_first_ones_env_file(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path)
    first.acquire({"env_file": "/somewhere/.env.storage"})
    try:
        with pytest.raises(Locked, match=r"running already \(process \d+\); its env file is /somewhere/\.env\.storage"):
            DataDirLock(tmp_path).acquire({"env_file": "other"})
    finally:
        first.release()
    assert not (tmp_path / "dev.lock").exists()
    DataDirLock(tmp_path).acquire({})  # free again


def test_env_file_is_quoted_ordered_and_private(tmp_path: Path) -> None:
    path = tmp_path / ".env.storage"
    values = {
        "SSL_CERT_FILE": "/ca.pem",
        "MEDIA_URL": "http://127.0.0.1:1/b/",
        "DEFAULT_STORAGE_DSN": "s3://k:s@b/?a=1&b=2",
    }
    envfile.write(path, values)
    lines = path.read_text().splitlines()
    assert lines[1:] == [
        "DEFAULT_STORAGE_DSN='s3://k:s@b/?a=1&b=2'",
        "MEDIA_URL='http://127.0.0.1:1/b/'",
        "SSL_CERT_FILE='/ca.pem'",
    ]
    assert path.stat().st_mode & 0o777 == 0o600
    assert envfile.read(path) == values
    with pytest.raises(ValueError, match="MEDIA_URL"):
        envfile.render({"MEDIA_URL": "it's"})


def test_shaping_describes_itself() -> None:
    assert Shaping(40, 50.0).describe() == "40 ms per answer, 50 Mbit/s per connection"
    assert Shaping().describe() == "no shaping"
