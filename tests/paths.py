"""Where the tests find files: only inside the repository, except the real data sets, which
live beside it (``../shared/data``) and are never committed."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_DATA = Path(os.environ.get("CASCADE_WATCH_DATA", REPO_ROOT / ".." / "shared" / "data"))
"""CASCADE_WATCH_DATA points elsewhere: a git worktree kept in another folder."""
