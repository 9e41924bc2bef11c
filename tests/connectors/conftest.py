"""The connectors' shared fixtures. A test module that starts a local exchange names it ``lx``
(module-scoped: starting one costs a scenario load); faults injected into it by one test are
cleared after that test, so they never leak into the next. Recorded exchange bodies are in
tests/fixtures/ (see its README)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "lx" in request.fixturenames:
        request.getfixturevalue("lx").faults.clear()
