"""A minimal Django app configured only from ``divio-storage dev``'s env file, run in a fresh interpreter.

``python dev_app.py ENV_FILE``: the env file's variables become the process's environment (as ``set -a; .
.env.storage`` or python-dotenv would make them), the settings come from them through ``app_settings``, and the
app saves a public and a private file, reads both back and prints their names, URLs and bodies as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PUBLIC_BODY = b"public media saved by the app"
PRIVATE_BODY = b"private media saved by the app"


def main(env_file: Path) -> None:
    """Load the env file into the environment, configure Django from it, save and read the files, print JSON."""
    from divio_storage_infra.localstores.envfile import read

    os.environ.update(read(env_file))
    import django
    from django.conf import settings

    from divio_storage_infra import app_settings

    settings.configure(
        USE_TZ=True,
        MEDIA_ROOT="/nonexistent-media-root",  # nothing may land on the local disk
        MEDIA_URL=os.environ["MEDIA_URL"],
        **app_settings(os.environ["DEFAULT_STORAGE_DSN"], os.environ["PRIVATE_STORAGE_DSN"]),
    )
    django.setup()
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage, storages

    out: dict[str, dict[str, str]] = {}
    for store, storage, body in (
        ("public", default_storage, PUBLIC_BODY),
        ("private", storages["private"], PRIVATE_BODY),
    ):
        name = storage.save(f"uploads/{store} file.txt", ContentFile(body))
        with storage.open(name, "rb") as handle:
            read_back = handle.read()
        out[store] = {"name": name, "url": storage.url(name), "read": read_back.decode()}
    print(json.dumps(out, sort_keys=True))


def read_files(env_file: Path, names: dict[str, str]) -> None:
    """``python dev_app.py ENV_FILE --read public=NAME private=NAME``: print the files' bodies as JSON."""
    from divio_storage_infra.localstores.envfile import read

    os.environ.update(read(env_file))
    import django
    from django.conf import settings

    from divio_storage_infra import app_settings

    settings.configure(
        USE_TZ=True, **app_settings(os.environ["DEFAULT_STORAGE_DSN"], os.environ["PRIVATE_STORAGE_DSN"])
    )
    django.setup()
    from django.core.files.storage import storages

    out = {}
    for store, name in names.items():
        with storages["default" if store == "public" else "private"].open(name, "rb") as handle:
            out[store] = handle.read().decode()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "--read":
        read_files(Path(sys.argv[1]), dict(arg.split("=", 1) for arg in sys.argv[3:]))
    else:
        main(Path(sys.argv[1]))
