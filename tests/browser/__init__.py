"""Headless-browser tests. A package, so that pytest imports their conftest as ``browser.conftest`` and the suite's
``tests/conftest.py`` stays the module ``conftest`` that other tests import names from."""
