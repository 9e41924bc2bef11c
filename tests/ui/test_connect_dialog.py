"""The connect dialog: fields checked as typed, the secret masked, a test off the GUI thread."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from connectors.credentials import Credentials
from ui.connect_dialog import ConnectDialog, describe_test


def save_enabled(dlg: ConnectDialog) -> bool:
    return dlg.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()


@pytest.fixture
def dialog(qtbot) -> ConnectDialog:
    dlg = ConnectDialog()
    qtbot.addWidget(dlg)
    return dlg


def test_empty_form_cannot_be_saved(dialog: ConnectDialog) -> None:
    assert not save_enabled(dialog)
    assert not dialog.test_button.isEnabled()
    assert "label" in dialog.problems.text().lower()


def test_whitespace_pasted_around_a_key_is_flagged(dialog: ConnectDialog) -> None:
    dialog.label.setText("Main")
    dialog.api_key.setText("  abcd1234 ")
    dialog.secret.setText("s3cret")
    assert "spaces around it" in dialog.problems.text()
    assert not save_enabled(dialog)
    dialog.api_key.setText("abcd1234")
    assert dialog.problems.text() == ""
    assert save_enabled(dialog)


def test_secret_is_masked(dialog: ConnectDialog) -> None:
    assert dialog.secret.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.passphrase.echoMode() == QLineEdit.EchoMode.Password


def test_okx_needs_a_passphrase(dialog: ConnectDialog) -> None:
    dialog.exchange.setCurrentIndex(dialog.exchange.findData("okx"))
    dialog.label.setText("OKX")
    dialog.api_key.setText("key")
    dialog.secret.setText("secret")
    assert not save_enabled(dialog)
    dialog.passphrase.setText("phrase")
    assert save_enabled(dialog)
    creds = dialog.form_result().credentials
    assert creds is not None and creds.password == "phrase"


def test_hyperliquid_takes_only_a_wallet_of_the_right_form(dialog: ConnectDialog) -> None:
    dialog.exchange.setCurrentIndex(dialog.exchange.findData("hyperliquid"))
    dialog.label.setText("HL")
    assert not dialog.api_key.isVisibleTo(dialog)
    dialog.wallet.setText("0x1234")
    assert "40 hex digits" in dialog.problems.text()
    assert not save_enabled(dialog)
    dialog.wallet.setText("0x" + "ab" * 20)
    assert save_enabled(dialog)
    assert dialog.form_result().credentials == Credentials(wallet="0x" + "ab" * 20)


def test_base_url_must_be_http(dialog: ConnectDialog) -> None:
    dialog.label.setText("Main")
    dialog.api_key.setText("k")
    dialog.secret.setText("s")
    dialog.base_url.setText("testnet.binance")
    assert "http" in dialog.problems.text()
    dialog.base_url.setText("https://testnet.binancefuture.com")
    assert save_enabled(dialog)


def test_base_url_may_not_carry_a_password(dialog: ConnectDialog) -> None:
    """The base URL is stored in the database, where no credential may go."""
    dialog.label.setText("Main")
    dialog.api_key.setText("key-1234")
    dialog.secret.setText("secret-1234")
    dialog.base_url.setText("https://me:hunter22@proxy.example:8443/binance")
    assert "user name or password" in dialog.problems.text()
    assert "hunter22" not in dialog.problems.text()
    assert not save_enabled(dialog)
    dialog.base_url.setText("https://proxy.example:8443/binance")
    assert save_enabled(dialog)


def test_a_stream_url_is_websocket_and_goes_with_a_base_url(dialog: ConnectDialog) -> None:
    dialog.label.setText("Local")
    dialog.api_key.setText("key-1234")
    dialog.secret.setText("secret-1234")
    dialog.ws_url.setText("ws://127.0.0.1:9001")
    assert "goes with a base URL" in dialog.problems.text()
    assert not save_enabled(dialog)
    dialog.base_url.setText("http://127.0.0.1:9000")
    dialog.ws_url.setText("http://127.0.0.1:9001")
    assert "ws:// or wss://" in dialog.problems.text()
    dialog.ws_url.setText("ws://127.0.0.1:9001")
    assert save_enabled(dialog)
    form = dialog.form_result()
    assert (form.base_url, form.ws_url) == ("http://127.0.0.1:9000", "ws://127.0.0.1:9001")


def test_permissions_verdict_warns_about_trading_keys() -> None:
    account = SimpleNamespace(positions=(1, 2))
    ok, text = describe_test(
        account, SimpleNamespace(can_trade=True, can_withdraw=False, known=True, warning=None)
    )
    assert not ok
    assert text.startswith("Connected: 2 open positions.")
    assert "can trade" in text and "read-only" in text
    ok, text = describe_test(
        account, SimpleNamespace(can_trade=False, can_withdraw=False, known=True, warning=None)
    )
    assert ok and "read-only" in text


def test_the_test_runs_off_the_gui_thread(qtbot) -> None:
    seen: list[str] = []

    class Fake:
        def fetch_account(self) -> Any:
            seen.append(threading.current_thread().name)
            return SimpleNamespace(positions=(1,))

        def key_permissions(self) -> Any:
            return SimpleNamespace(can_trade=False, can_withdraw=False, known=True, warning=None)

    dlg = ConnectDialog(connector_factory=lambda *a: Fake())
    qtbot.addWidget(dlg)
    dlg.label.setText("x")
    dlg.api_key.setText("k")
    dlg.secret.setText("s")
    with qtbot.waitSignal(dlg.sigTestFinished, timeout=10_000) as blocker:
        dlg.test_button.click()
    assert blocker.args[0] is True
    assert seen and seen[0] != threading.main_thread().name
    assert "Connected: 1 open position." in dlg.verdict.text()


def test_wrong_secret_from_the_local_exchange_in_plain_words(qtbot, local_exchange: Any) -> None:
    creds = local_exchange.credentials("binanceusdm")
    dlg = ConnectDialog()
    qtbot.addWidget(dlg)
    dlg.label.setText("Local")
    dlg.api_key.setText(creds.api_key)
    dlg.secret.setText("wrong-secret-value")
    dlg.base_url.setText(local_exchange.base_url)
    with qtbot.waitSignal(dlg.sigTestFinished, timeout=30_000) as blocker:
        dlg.test_button.click()
    ok, text = blocker.args
    assert not ok
    assert text.startswith("Not connected:")
    assert "rejected the API key" in text
    assert "wrong-secret-value" not in text
    assert "Traceback" not in text


def test_right_secret_from_the_local_exchange_connects(qtbot, local_exchange: Any) -> None:
    creds = local_exchange.credentials("binanceusdm")
    dlg = ConnectDialog()
    qtbot.addWidget(dlg)
    dlg.label.setText("Local")
    dlg.api_key.setText(creds.api_key)
    dlg.secret.setText(creds.secret)
    dlg.base_url.setText(local_exchange.base_url)
    with qtbot.waitSignal(dlg.sigTestFinished, timeout=30_000) as blocker:
        dlg.test_button.click()
    assert blocker.args[1].startswith("Connected:")
