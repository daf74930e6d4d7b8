"""The platform snippet of the docs (docs/platform.md) runs as written under the mock runtime and declares what it
says."""

from __future__ import annotations

import re
from pathlib import Path

from divio_storage_infra.preview import mockrun

README = Path(__file__).resolve().parents[2] / "docs" / "platform.md"


def snippet() -> str:
    match = re.search(r"<!-- platform-snippet -->\n```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, "docs/platform.md lost its platform snippet"
    return match.group(1)


def test_platform_snippet_runs_and_shares_one_provider() -> None:
    code = compile(snippet(), str(README), "exec")
    declared = mockrun.run(lambda: exec(code, {"__name__": "__main__"}), project="my-platform", stack="prod")
    websites = declared.by_type("divio:storage:WebsiteMediaStorage")
    assert sorted(r.name for r in websites) == ["blog-live", "shop--eu-live", "shop-live"]
    assert sorted(declared.outputs) == ["blog/live", "shop/eu-live", "shop/live"]
    # credentials: none: the DSNs carry no secret, so they are shown as they are.
    assert all(isinstance(v["dsn"], str) and v["dsn"].startswith("s3://") for v in declared.outputs.values())
    provider = declared.one("pulumi:providers:aws").urn
    exoscale_buckets = [r for r in declared.by_type("aws:s3/bucket:Bucket") if r.name.startswith("shop")]
    assert len(exoscale_buckets) == 3
    assert all((r.provider or "").startswith(provider + "::") for r in exoscale_buckets)
    assert declared.one("aws:s3/bucket:Bucket", "blog-live-media").provider is None
    assert all(r.protect for r in declared.resources if r.type != "pulumi:providers:aws")
