"""The admin's elder lookup hook: code named in config/elders.yaml, run with care.

Why: the hook receives the caller-controlled ``From`` number and runs inside the service. It may
only come from an allowed package (default ``hooks``: the ``hooks/`` folder of the deployment,
loaded from that folder by file path, never from whatever ``hooks`` is on ``sys.path``); it runs
in a small thread pool with a timeout, outside the per-call lock; any failure or timeout means
"not known elderly" (the caller still gets the menu, with the human option first) and is logged.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from ivr.config.elder_hook_rules import (
    DEPLOYMENT_PACKAGE,
    HookError,
    allowed,
    hook_file,
    split_hook,
)
from ivr.privacy import mask_number

log = logging.getLogger(__name__)

POOL_WORKERS = 4


def load(hook: str, packages: Iterable[str], root: Path) -> Callable[[str], object]:
    """The hook function; raises HookError when it is not allowed or not found."""
    module, func = split_hook(hook)
    if not allowed(module, packages):
        raise HookError(f"{module!r} is not inside an allowed package")
    if module.split(".")[0] == DEPLOYMENT_PACKAGE:
        path = hook_file(root, module)
        spec = importlib.util.spec_from_file_location(f"ivr_deployment_{module}", path)
        if spec is None or spec.loader is None or not path.is_file():
            raise HookError(f"no hook file {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(module)
    fn = getattr(mod, func, None)
    if not callable(fn):
        raise HookError(f"{hook!r} is not a function")
    return fn


class ElderLookup:
    """Calls the configured hook with a timeout; False on any problem (logged)."""

    def __init__(self, root: Path, workers: int = POOL_WORKERS):
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="elder-hook")
        self._cache: dict[tuple[str, tuple[str, ...]], Callable[[str], object]] = {}
        self._lock = threading.Lock()

    def _function(self, hook: str, packages: tuple[str, ...]) -> Callable[[str], object]:
        key = (hook, packages)
        with self._lock:
            fn = self._cache.get(key)
            if fn is None:
                fn = self._cache[key] = load(hook, packages, self.root)
            return fn

    def is_elder(self, hook: str, packages: Iterable[str], number: str,
                 timeout: float) -> bool:
        try:
            fn = self._function(hook, tuple(packages))
            return self._pool.submit(fn, number).result(timeout=timeout) is True
        except FutureTimeout:
            log.warning("elder lookup hook %s took over %.1f s for %s; treated as not elderly",
                        hook, timeout, mask_number(number))
        except Exception:  # a broken hook must not block the call
            log.exception("elder lookup hook %s failed for %s; treated as not elderly", hook,
                          mask_number(number))
        return False
