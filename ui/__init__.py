"""The desktop app: PySide6 + pyqtgraph, GUI thread only; nothing imports it but cli/app.py."""
