"""The platform program (see Pulumi.yaml): every website in websites.yaml, validated whole, then declared."""

from pathlib import Path

from divio_storage_infra.platform import main

main(Path(__file__).resolve().with_name("websites.yaml"))
