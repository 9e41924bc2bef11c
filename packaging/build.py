"""Build the one-folder frozen app with PyInstaller (packaging/cascade-watch.spec), then
smoke-test what was built.

    pip install '.[build]'           # PyInstaller and Pillow, into the environment that builds
    python packaging/build.py        # -> dist/cascade-watch/, then the smoke test
    python packaging/build.py --smoke-only   # test an existing dist/cascade-watch/

The smoke test runs the built program, not the sources, from a temporary folder with its own
data and log folders: ``--version``; ``check`` on examples/account.json (table and JSON);
``events --json``; a calendar feed on 127.0.0.1 fetched and parsed (``events --refresh``); a
test push through apprise to a receiver on 127.0.0.1 (``channels test``);
the window on Qt's offscreen platform for a few seconds (the demo running, then a screenshot
and the log); ``watch --demo`` for a few seconds, stopped with SIGINT. It prints the time the
build took and the folder's size, and exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "cascade-watch.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
APP = DIST / "cascade-watch"
EXAMPLE = ROOT / "examples" / "account.json"
DESKTOP = ROOT / "packaging" / "linux"


def build() -> float:
    """Run PyInstaller; returns the seconds it took."""
    if importlib.util.find_spec("PyInstaller") is None:
        raise SystemExit("build: PyInstaller is missing; pip install '.[build]' first")
    started = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(WORK),
            str(SPEC),
        ],
        check=True,
        cwd=ROOT,
        env=env,
    )
    desktop = APP / "desktop"
    desktop.mkdir(exist_ok=True)
    for path in DESKTOP.iterdir():
        shutil.copy2(path, desktop / path.name)
    (desktop / "icons").mkdir(exist_ok=True)
    for path in (ROOT / "resources" / "icons").iterdir():
        shutil.copy2(path, desktop / "icons" / path.name)
    return time.perf_counter() - started


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


class Smoke:
    def __init__(self, app: Path) -> None:
        self.exe = app / ("cascade-watch.exe" if sys.platform == "win32" else "cascade-watch")
        self.tmp = Path(tempfile.mkdtemp(prefix="cascade-watch-smoke-"))
        self.env = dict(os.environ)
        for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            self.env.pop(name, None)
        self.env["CASCADE_DATA_DIR"] = str(self.tmp / "data")
        self.env["CASCADE_LOG_DIR"] = str(self.tmp / "log")
        self.env["QT_QPA_PLATFORM"] = "offscreen"
        self.passed: list[str] = []

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.exe), *args],
            cwd=self.tmp,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            self.fail(f"{' '.join(args)} exited {done.returncode}", done)
        return done

    def fail(self, what: str, done: subprocess.CompletedProcess[str] | None = None) -> None:
        detail = ""
        if done is not None:
            detail = f"\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        raise SystemExit(f"smoke test FAILED: {what}{detail}")

    def ok(self, what: str, seconds: float) -> None:
        self.passed.append(what)
        print(f"  ok  {what} ({seconds:.1f} s)", flush=True)

    def version(self) -> None:
        t = time.perf_counter()
        out = self.run("--version").stdout.strip()
        if not out.startswith("cascade-watch ") or "MIT" not in out:
            self.fail(f"--version printed {out!r}")
        self.ok(f"--version: {out}", time.perf_counter() - t)

    def check(self) -> None:
        t = time.perf_counter()
        table = self.run("check", str(EXAMPLE)).stdout
        if "BTC/USDT:USDT" not in table or "margin ratio" not in table:
            self.fail("check printed no account table")
        data = json.loads(self.run("check", str(EXAMPLE), "--json").stdout)
        if not data["positions"] or data["account"]["margin_ratio"] <= 0:
            self.fail(f"check --json printed {data}")
        self.ok("check examples/account.json (table and --json)", time.perf_counter() - t)

    def events(self) -> None:
        t = time.perf_counter()
        data = json.loads(self.run("events", "--json", "--days", "400").stdout)
        if not data["events"] or not all(e["source"] for e in data["events"]):
            self.fail(f"events --json printed {data}")
        self.ok(f"events --json ({len(data['events'])} events)", time.perf_counter() - t)

    def feed(self) -> None:
        """A calendar feed served on 127.0.0.1, subscribed in the database, fetched and read by
        the built program (icalendar, time zones and HTTP inside the build)."""
        t = time.perf_counter()
        sys.path.insert(0, str(ROOT))
        from monitor.feeds import SETTINGS_KEY
        from storage.database import Database
        from tests.feed_server import FeedServer

        server = FeedServer()
        try:
            db = Database.open(self.tmp / "data" / "cascade.db")
            db.settings.set(SETTINGS_KEY, [{"url": server.url, "name": "test feed"}])
            db.close()
            data = json.loads(self.run("events", "--json", "--refresh").stdout)
        finally:
            server.close()
        (feed,) = data["feeds"]
        # The fixture's five timed events, less the one at a shipped FOMC decision's minute.
        if not feed["ok"] or feed["events"] != 4 or server.hits != 1:
            self.fail(f"the feed was not read: {feed}")
        self.ok(f"a calendar feed fetched and read: {feed['status']}", time.perf_counter() - t)

    def push(self) -> None:
        """A test message through apprise inside the build (its plugins are found by listing
        a folder at run time) to a receiver on 127.0.0.1."""
        t = time.perf_counter()
        sys.path.insert(0, str(ROOT))
        from tests.notify.push_receiver import PushReceiver

        with PushReceiver() as receiver:
            self.run("channels", "test", "--timeout", "10", f"{receiver.url}smoke/")
            got = receiver.wait_for(1, timeout=10)
        if not got or got[0].path != "/smoke/":
            self.fail(f"channels test reached no receiver: {got}")
        self.ok("a push through apprise to a json:// receiver", time.perf_counter() - t)

    def window(self, seconds: float = 6.0) -> None:
        t = time.perf_counter()
        shot = self.tmp / "window.png"
        self.run("--demo", "--screenshot", str(shot), "--after", str(seconds), timeout=180)
        if not shot.is_file() or shot.stat().st_size < 10_000:
            self.fail("the window left no screenshot")
        log = self.tmp / "log" / "cascade-watch.log"
        if "window shown after" not in (log.read_text() if log.is_file() else ""):
            self.fail(f"the window wrote no log to {log}")
        self.ok(f"the window, offscreen, {seconds:g} s of the demo", time.perf_counter() - t)

    def watch(self, seconds: float = 8.0) -> None:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [str(self.exe), "watch", "--demo"],
            cwd=self.tmp,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(seconds)
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        if proc.returncode != 0 or "watching" not in out or "stopped" not in out:
            self.fail("watch --demo did not start and stop cleanly", done)
        self.ok(f"watch --demo for {seconds:g} s, stopped with SIGINT", time.perf_counter() - t)

    def all(self) -> None:
        print(f"smoke test of {self.exe} in {self.tmp}", flush=True)
        try:
            self.version()
            self.check()
            self.events()
            self.feed()
            self.push()
            self.window()
            if sys.platform != "win32":
                self.watch()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke-only", action="store_true", help="test dist/cascade-watch as is")
    args = parser.parse_args(argv)
    took = None if args.smoke_only else build()
    if not APP.is_dir():
        raise SystemExit(f"build: {APP} does not exist")
    started = time.perf_counter()
    Smoke(APP).all()
    size = folder_size(APP)
    files = sum(1 for p in APP.rglob("*") if p.is_file())
    if took is not None:
        print(f"build: {took:.0f} s")
    print(f"smoke test: {time.perf_counter() - started:.0f} s, all passed")
    print(f"dist/cascade-watch: {size / 1e6:.0f} MB in {files} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
