"""The crash dialog's text goes through the log redaction (issue 13, item 5): an exception that
carries a key, a secret, a passphrase or an address's password shows them masked, and no
control character reaches the dialog's title."""

from __future__ import annotations

import secrets as token_source

from connectors.credentials import Credentials


def test_crash_dialog_text_is_redacted(qtbot) -> None:
    from ui.crash import CrashReporter

    creds = Credentials(
        api_key="LEAKKEY" + token_source.token_hex(8),
        secret="LEAKSECRET" + token_source.token_hex(16),
        password="LEAKPASS/+=" + token_source.token_hex(6),
    )
    reporter = CrashReporter(show_dialog=False)
    try:
        raise ValueError(
            f"bad answer to key {creds.api_key} with {creds.password} via "
            f"https://me:{creds.secret}@proxy.example/api \x1b[31m"
        )
    except ValueError as e:
        with qtbot.waitSignal(reporter.sigCrash, timeout=2000) as blocker:
            reporter.report("poll", type(e), e, e.__traceback__)
    title, text = blocker.args
    for value in (creds.api_key, creds.secret, creds.password):
        assert value not in title and value not in text
    assert "***" in title and "https://***@proxy.example" in text
    assert "\x1b" not in title
