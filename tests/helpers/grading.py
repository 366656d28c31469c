"""How the tests grade: in the sandbox wherever it can run (always in CI), else without it, said once per run."""

from __future__ import annotations

import functools
import os


@functools.cache
def sandbox_missing() -> str | None:
    """Why the grading sandbox cannot run here; None when it can. Under LABKIT_REQUIRE_SANDBOX=1 it must."""
    from labkit.course.grade import sandbox_works

    why = sandbox_works()
    if why and os.environ.get("LABKIT_REQUIRE_SANDBOX") == "1":
        raise RuntimeError(f"LABKIT_REQUIRE_SANDBOX=1 but the sandbox cannot run here: {why}")
    return why


def sandbox_flags() -> list[str]:
    """The `labkit grade` flags that grade in the sandbox when it can run, and without it when it cannot."""
    return ["--no-sandbox"] if sandbox_missing() else []
