"""The current config of a running process; a bad reload keeps the last good one.

A snapshot of the last good bundle is kept in var/, so a worker restarted while an admin's file
is broken still starts with the config that last worked instead of refusing callers.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from ivr.config.errors import ConfigError
from ivr.config.loader import load_config
from ivr.private_files import write_private
from ivr.settings import Settings

log = logging.getLogger(__name__)


class ConfigHolder:
    """Holds the current Config; ``reload()`` swaps it only for a valid one."""

    def __init__(self, settings: Settings, allow_last_good: bool = False):
        self.settings = settings
        self.snapshot = settings.var_dir / "config-last-good.json"
        self._lock = threading.Lock()
        self._stamp = self._files_stamp()
        try:
            self.current = load_config(settings)
            self._save_snapshot()
        except ConfigError as exc:
            if not (allow_last_good and self.snapshot.exists()):
                raise
            from ivr.config.bundle import Config

            self.current = Config.model_validate_json(self.snapshot.read_text(encoding="utf-8"))
            log.error("config invalid, serving last good version %s:\n%s",
                      self.current.version, exc)

    def reload(self) -> bool:
        """Load the files again; True if the new config is now in use."""
        with self._lock:
            self._stamp = self._files_stamp()
            try:
                new = load_config(self.settings)
            except ConfigError as exc:
                log.error("config reload rejected, keeping version %s:\n%s",
                          self.current.version, exc)
                return False
            if new.version != self.current.version:
                log.info("config reloaded: version %s -> %s", self.current.version, new.version)
            self.current = new
            self._save_snapshot()
            return True

    def changed_on_disk(self) -> bool:
        return self._files_stamp() != self._stamp

    def watch(self, interval: float = 2.0) -> threading.Thread:
        """Reload when a config file changes (polling mtimes: works on every filesystem)."""

        def loop() -> None:
            while True:
                threading.Event().wait(interval)
                if self.changed_on_disk():
                    self.reload()

        thread = threading.Thread(target=loop, name="config-watch", daemon=True)
        thread.start()
        return thread

    def install_sighup(self) -> None:
        """SIGHUP reloads (main thread only, where Python allows signal handlers)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, lambda *_: self.reload())

    def _files_stamp(self) -> tuple:
        s = self.settings
        paths: list[Path] = [
            *sorted(s.config_dir.glob("*.yaml")),
            *sorted(s.grammars_dir.glob("*.yaml")),
            s.voices_dir / "profiles.yaml",
        ]
        return tuple((str(p), p.stat().st_mtime_ns) for p in paths if p.exists())

    def _save_snapshot(self) -> None:
        try:
            # password hashes are in it: 0600 (ivr.private_files)
            write_private(self.snapshot, self.current.model_dump_json())
        except OSError as exc:  # a read-only var/ must not stop the service
            log.warning("could not save config snapshot: %s", exc)
