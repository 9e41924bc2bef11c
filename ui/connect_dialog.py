"""Add or edit an exchange account: fields checked as typed, a connection test off the GUI
thread, and a plain-words verdict (connected, N positions, what the key may do).

Secrets stay in the dialog's fields and the result handed to the caller; they are never logged
and never shown once typed (the secret field is masked).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from connectors.credentials import Credentials
from connectors.redaction import redact
from connectors.types import KeyPermissions
from formatting import safe_text
from risk.types import Account
from storage.records import AccountRecord
from ui import theme

log = logging.getLogger(__name__)

EXCHANGES = {
    "binanceusdm": "Binance USDS-M futures",
    "bybit": "Bybit",
    "okx": "OKX",
    "hyperliquid": "Hyperliquid",
}
WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class AccountForm:
    """What the dialog returns. ``credentials`` is None when editing left them unchanged."""

    exchange: str
    label: str
    base_url: str | None
    credentials: Credentials | None
    enabled: bool = True
    ws_url: str | None = None
    """Where an account on its own base URL streams from (None: polled only)."""


def default_connector_factory(
    exchange: str, credentials: Credentials, api_url: str | None, label: str
) -> Any:
    from connectors.exchange import ExchangeConnector

    return ExchangeConnector(exchange, credentials, api_url=api_url, label=label)


def describe_test(account: Account, permissions: KeyPermissions | None) -> tuple[bool, str]:
    """(ok, one or two sentences) for a successful read."""
    n = len(account.positions)
    parts = [f"Connected: {n} open position{'s' if n != 1 else ''}."]
    ok = True
    if permissions is not None:
        can_trade, can_withdraw = permissions.can_trade, permissions.can_withdraw
        known, extra = permissions.known, permissions.warning
        if can_withdraw or can_trade:
            what = " and ".join(
                w for w, on in (("trade", can_trade), ("withdraw", can_withdraw)) if on
            )
            parts.append(
                f"Warning: this key can {what}. Cascade Watch only reads; create a read-only key."
            )
            ok = False
        elif known:
            parts.append("The key is read-only. Good.")
        else:
            parts.append(
                "The exchange does not say what this key may do; make sure it is read-only."
            )
        if extra and not (can_trade or can_withdraw):
            parts.append(str(extra))
    return ok, " ".join(parts)


class _TestSignals(QObject):
    sigDone = Signal(object, bool, str)
    """(test id, ok, text); ids cross as Python objects, never as 32-bit Qt ints."""


class ConnectDialog(QDialog):
    sigTestFinished = Signal(bool, str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        existing: AccountRecord | None = None,
        connector_factory: Callable[..., Any] = default_connector_factory,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit account" if existing else "Connect an exchange account")
        self.setMinimumWidth(520)
        self.connector_factory = connector_factory
        self.editing = existing is not None
        self._test_id = 0
        self._signals = _TestSignals()
        self._signals.sigDone.connect(self._on_test_done, Qt.ConnectionType.QueuedConnection)
        t = theme.current()

        self.exchange = QComboBox()
        for key, name in EXCHANGES.items():
            self.exchange.addItem(name, key)
        self.label = QLineEdit()
        self.label.setPlaceholderText("e.g. Main Binance")
        self.api_key = QLineEdit()
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.wallet = QLineEdit()
        self.wallet.setPlaceholderText("0x… (40 hex digits)")
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("optional: testnet, demo or proxy address")
        self.ws_url = QLineEdit()
        self.ws_url.setPlaceholderText("optional, with a base URL: its WebSocket address")
        self.enabled = QCheckBox("Poll this account")
        self.enabled.setChecked(True)
        if self.editing:
            self.api_key.setPlaceholderText("unchanged (type to replace)")
            self.secret.setPlaceholderText("unchanged (type to replace)")
            self.passphrase.setPlaceholderText("unchanged (type to replace)")

        self.form = QFormLayout()
        self.form.addRow("Exchange", self.exchange)
        self.form.addRow("Label", self.label)
        self.form.addRow("API key", self.api_key)
        self.form.addRow("Secret", self.secret)
        self.form.addRow("Passphrase", self.passphrase)
        self.form.addRow("Wallet address", self.wallet)
        self.form.addRow("Base URL", self.base_url)
        self.form.addRow("Stream URL", self.ws_url)
        self.form.addRow("", self.enabled)

        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(f"color: {t.amber};")
        self.verdict = QLabel("")
        # the verdict quotes what the exchange answered: never read it as HTML
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setWordWrap(True)
        self.verdict.setMinimumHeight(48)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)

        intro = QLabel(
            "Cascade Watch only reads your account. Create a <b>read-only</b> API key "
            "(no trading, no withdrawals). It is kept in the system keychain (or a "
            "passphrase-encrypted file), never in the database or the log."
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self.form)
        layout.addWidget(self.problems)
        layout.addWidget(self.verdict)
        layout.addWidget(self.buttons)

        for w in (
            self.label,
            self.api_key,
            self.secret,
            self.passphrase,
            self.wallet,
            self.base_url,
            self.ws_url,
        ):
            w.textChanged.connect(self.validate)
            w.textChanged.connect(self._forget_result)
        self.exchange.currentIndexChanged.connect(self._on_exchange)
        self.exchange.currentIndexChanged.connect(self._forget_result)
        if existing is not None:
            i = self.exchange.findData(existing.exchange)
            self.exchange.setCurrentIndex(max(0, i))
            self.exchange.setEnabled(False)
            self.label.setText(existing.label)
            self.base_url.setText(existing.base_url or "")
            self.ws_url.setText(existing.ws_url or "")
            self.enabled.setChecked(bool(getattr(existing, "enabled", True)))
        self._on_exchange()

    def _forget_result(self) -> None:
        """A verdict is about the fields it was run on: clear it when they change."""
        self._test_id += 1
        self.verdict.setText("")
        self.verdict.setStyleSheet("")

    @property
    def exchange_id(self) -> str:
        return str(self.exchange.currentData())

    def _on_exchange(self) -> None:
        hl = self.exchange_id == "hyperliquid"
        for w, show in (
            (self.api_key, not hl),
            (self.secret, not hl),
            (self.passphrase, self.exchange_id == "okx"),
            (self.wallet, hl),
        ):
            self.form.setRowVisible(w, show)
        self.validate()

    def problems_list(self) -> dict[QLineEdit, str]:
        """Each field's problem, in plain words; empty when the form can be saved."""
        out: dict[QLineEdit, str] = {}
        if not self.label.text().strip():
            out[self.label] = "Give the account a label."
        if self.exchange_id == "hyperliquid":
            w = self.wallet.text()
            if not w.strip():
                out[self.wallet] = "Enter the wallet address."
            elif w != w.strip():
                out[self.wallet] = "The wallet address has spaces around it; remove them."
            elif not WALLET_RE.match(w):
                out[self.wallet] = "A wallet address is 0x followed by 40 hex digits."
        else:
            fields = [(self.api_key, "API key"), (self.secret, "secret")]
            if self.exchange_id == "okx":
                fields.append((self.passphrase, "passphrase"))
            for field, name in fields:
                text = field.text()
                if not text:
                    if not self.editing:
                        out[field] = f"Enter the {name}."
                elif text != text.strip():
                    out[field] = f"The {name} has spaces around it (pasted?); remove them."
                elif any(ch.isspace() for ch in text):
                    out[field] = f"The {name} contains spaces; it should be one word."
        url = self.base_url.text().strip()
        if url and not re.match(r"^https?://[^\s/]+", url):
            out[self.base_url] = "The base URL must start with http:// or https://."
        elif url and "@" in url.split("/", 3)[2]:
            # it would be stored in the database, where no credential may go
            out[self.base_url] = "The base URL must not carry a user name or password."
        ws = self.ws_url.text().strip()
        if ws and not re.match(r"^wss?://[^\s/@]+", ws):
            out[self.ws_url] = (
                "The stream URL must start with ws:// or wss:// and carry no user name."
            )
        elif ws and not url:
            out[self.ws_url] = "A stream URL goes with a base URL (the venue's own needs none)."
        return out

    def validate(self) -> bool:
        problems = self.problems_list()
        t = theme.current()
        for w in (
            self.label,
            self.api_key,
            self.secret,
            self.passphrase,
            self.wallet,
            self.base_url,
            self.ws_url,
        ):
            typed = bool(w.text()) or w is self.label
            bad = w in problems and typed
            w.setStyleSheet(f"border: 1px solid {t.amber};" if bad else "")
            w.setToolTip(problems.get(w, ""))
        shown = [msg for w, msg in problems.items() if w.text() or w is self.label]
        self.problems.setText("\n".join(shown))
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(not problems)
        self.test_button.setEnabled(not (set(problems) - {self.label}))
        return not problems

    def credentials(self) -> Credentials | None:
        if self.exchange_id == "hyperliquid":
            return Credentials(wallet=self.wallet.text().strip())
        if self.editing and not (self.api_key.text() or self.secret.text()):
            return None
        return Credentials(
            api_key=self.api_key.text().strip(),
            secret=self.secret.text().strip(),
            password=self.passphrase.text().strip(),
        )

    def form_result(self) -> AccountForm:
        return AccountForm(
            exchange=self.exchange_id,
            label=self.label.text().strip(),
            base_url=self.base_url.text().strip() or None,
            credentials=self.credentials(),
            enabled=self.enabled.isChecked(),
            ws_url=self.ws_url.text().strip() or None,
        )

    def test_connection(self) -> None:
        """Read the account on a worker thread; the verdict arrives through a queued signal."""
        creds = self.credentials()
        if creds is None:
            self.verdict.setText("Type the key and secret again to test them.")
            return
        self._test_id += 1
        test_id = self._test_id
        self.test_button.setEnabled(False)
        self.verdict.setStyleSheet("")
        self.verdict.setText("Testing the connection…")
        form = self.form_result()

        def work() -> None:
            try:
                conn = self.connector_factory(form.exchange, creds, form.base_url, form.label)
                account = conn.fetch_account()
                try:
                    perms = conn.key_permissions()
                except Exception as exc:  # the read worked; permissions are a bonus
                    log.info("key permissions unavailable: %s", type(exc).__name__)
                    perms = None
                ok, text = describe_test(account, perms)
            except Exception as exc:
                ok, text = False, _plain_error(exc)
            self._signals.sigDone.emit(test_id, ok, text)

        threading.Thread(target=work, name="connect-test", daemon=True).start()

    def _on_test_done(self, test_id: int, ok: bool, text: str) -> None:
        if test_id != self._test_id:
            return
        t = theme.current()
        colour = t.calm if ok else (t.amber if text.startswith("Connected") else t.red)
        self.verdict.setStyleSheet(f"color: {colour}; font-weight: 600;")
        self.verdict.setText(text)
        self.validate()
        self.sigTestFinished.emit(ok, text)


def _plain_error(exc: BaseException) -> str:
    """The connector's one-line message, or a scrubbed fallback that never echoes a secret
    (the credentials are registered with the redaction when made) nor a control character."""
    message = getattr(exc, "message", None)
    if not message:
        if isinstance(exc, ImportError):
            return "The exchange connector is not available in this build."
        message = f"{type(exc).__name__}: {exc}"
    return f"Not connected: {safe_text(redact(str(message)))}"
