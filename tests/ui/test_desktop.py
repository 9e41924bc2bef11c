"""The window as a desktop app: its icon, Help ▸ About (version, licence, data sources), and the
calendar feeds in Settings: their status lines from a real fetch, a bad address refused in one
line, the subscription handed to the watch."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from monitor.calendar import builtin_events
from monitor.feeds import SETTINGS_KEY, CalendarFeeds, FeedSpec
from resources.about import version
from settings.registry import Values
from ui.about import AboutDialog
from ui.app import App
from ui.ports import Preferences
from ui.settings_dialog import SettingsDialog


def menu_action(window, menu_title: str, text: str):
    (menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == menu_title]
    (action,) = [a for a in menu.actions() if a.text() == text]
    return action


def test_the_window_and_the_tray_wear_the_icon(app: App) -> None:
    icon = app.window.windowIcon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    assert not QApplication.windowIcon().isNull()
    assert QApplication.desktopFileName() == "org.cascadewatch.CascadeWatch"
    if app.window.tray is not None:
        assert app.window.tray.icon().cacheKey() == icon.cacheKey()
    assert not icon.pixmap(QSize(16, 16)).isNull()


def test_help_about_shows_the_version_the_licence_and_the_sources(app: App, qtbot) -> None:
    seen: dict[str, object] = {}

    def inspect() -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, AboutDialog)
        seen["title"] = dlg.title.text()
        seen["sources"] = dlg.sources.toPlainText()
        dlg.tabs.setCurrentWidget(dlg.licence)
        seen["licence"] = dlg.licence.toPlainText()
        dlg.reject()

    QTimer.singleShot(200, inspect)
    menu_action(app.window, "&Help", "About Cascade Watch").trigger()
    assert f"version {version()}" in str(seen["title"])
    lines = [line for line in str(seen["sources"]).splitlines() if line.strip()]
    source_of = {a.split(":")[0]: b for a, b in zip(lines[::2], lines[1::2], strict=True)}
    fomc = "https://www.federalreserve.gov/monetarypolicy/fomccalendars.htm"
    assert source_of["events-2027.json"].startswith(f"Source: {fomc}")
    assert "Not shipped: US CPI release dates for 2027" in source_of["events-2027.json"]
    assert "maintenance tiers, okx" in str(seen["sources"])
    assert "CoinDesk" in source_of["scenarios/2025-11-04.json"]
    assert str(seen["licence"]).startswith("MIT License")


def ok_button(dlg: SettingsDialog):
    box = dlg.findChild(QDialogButtonBox)
    return box.button(QDialogButtonBox.StandardButton.Ok)


def test_settings_show_each_feeds_line_and_refuse_a_bad_address(qtbot, tmp_path, feed_server):
    feeds = CalendarFeeds(tmp_path / "cache", builtin_events())
    feeds.configure([FeedSpec(feed_server.url, "BLS", ("Consumer Price Index",))])
    feeds.refresh()
    prefs = Preferences(Values.defaults(), (), (FeedSpec(feed_server.url, "BLS", ("Consumer",)),))
    dlg = SettingsDialog(prefs, None, feeds.statuses)
    qtbot.addWidget(dlg)
    dlg.show()
    status = dlg.feed_status.text()
    assert status.startswith("BLS: 3 events to 2027-04-13 (fetched ")
    assert "2 without a time zone skipped" in status

    feed_server.status = 500
    feeds.refresh(force=True)
    qtbot.waitUntil(lambda: "HTTP 500" in dlg.feed_status.text(), timeout=3000)
    assert dlg.feed_status.text().endswith(
        "cached events from " + status.split("fetched ")[1][:20] + " are kept"
    )

    dlg.feeds.insertRow(1)
    for col, text in enumerate(("bls.gov/schedule.ics", "typo", "")):
        dlg.feeds.setItem(1, col, type(dlg.feeds.item(0, 0))(text))
    qtbot.mouseClick(ok_button(dlg), Qt.MouseButton.LeftButton)
    assert dlg.isVisible()
    assert dlg.feed_error.isVisible()
    assert dlg.feed_error.text() == (
        "Calendar feed 2: bls.gov/schedule.ics is not a web address (http:// or https://)"
    )
    dlg.feeds.item(1, 0).setText("https://www.bls.gov/schedule/news_release/bls.ics")
    dlg.feeds.item(1, 2).setText("Consumer Price Index, Employment Situation")
    qtbot.mouseClick(ok_button(dlg), Qt.MouseButton.LeftButton)
    assert not dlg.isVisible() and dlg.result() == 1
    assert dlg.result_preferences().feeds == (
        FeedSpec(feed_server.url, "BLS", ("Consumer",)),
        FeedSpec(
            "https://www.bls.gov/schedule/news_release/bls.ics",
            "typo",
            ("Consumer Price Index", "Employment Situation"),
        ),
    )


def test_the_bls_button_adds_the_cpi_feed(qtbot) -> None:
    dlg = SettingsDialog(Preferences(Values.defaults()), None, lambda: ())
    qtbot.addWidget(dlg)
    assert dlg.feed_status.text() == "No calendar feed is subscribed."
    (bls,) = [b for b in dlg.findChildren(type(ok_button(dlg))) if "BLS" in b.text()]
    qtbot.mouseClick(bls, Qt.MouseButton.LeftButton)
    assert dlg.result_preferences().feeds == (
        FeedSpec(
            "https://www.bls.gov/schedule/news_release/bls.ics", "BLS", ("Consumer Price Index",)
        ),
    )


def test_saved_feeds_reach_the_watch(tmp_path) -> None:
    from storage.database import open_database
    from ui.backend import Backend

    db = open_database(tmp_path)
    backend = Backend(tmp_path, None, db, None, demo=False, scenario="quiet", speed=60.0)
    url = "https://www.bls.gov/schedule/news_release/bls.ics"
    spec = FeedSpec(url, "BLS", ("Consumer Price Index",))
    try:
        backend.apply_preferences(Preferences(Values.defaults(), (), (spec,)))
        assert db.settings.get(SETTINGS_KEY) == [
            {"url": url, "name": "BLS", "match": ["Consumer Price Index"]}
        ]
        assert backend.service.feeds.specs() == (spec,)
        assert backend.load_preferences().feeds == (spec,)
    finally:
        backend.stop()
