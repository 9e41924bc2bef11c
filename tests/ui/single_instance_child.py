"""A second launch's stand-in would hide the real path; the tests run main.py itself. This
helper only removes a stale lock's owner: ``python -m tests.ui.single_instance_child DIR``
takes the lock, prints "locked", and sleeps until killed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ui.single_instance import SingleInstance

if __name__ == "__main__":
    inst = SingleInstance(Path(sys.argv[1]))
    print("locked" if inst.acquire() else "busy", flush=True)
    time.sleep(60)
