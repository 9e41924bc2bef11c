"""Cascade Watch: a desktop liquidation-risk assistant for leveraged crypto perpetuals.

The entry point (``python main.py ...`` and the ``cascade-watch`` script); the commands live
in the ``cli`` package.
"""

from __future__ import annotations

import sys

from cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
