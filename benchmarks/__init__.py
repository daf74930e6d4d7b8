"""Benchmarks of the platform plan: the library's platform program against a raw pulumi-aws baseline.

Run ``.venv/bin/python -m benchmarks.platform`` (see docs/performance.md). Nothing here is part of the
package or of the test suite; ``tests/unit/test_benchmark_baseline.py`` only checks that the baseline declares
exactly what the library declares.
"""
