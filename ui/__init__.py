"""The desktop app: PySide6 + pyqtgraph, GUI thread only; nothing else imports it but main.py."""
