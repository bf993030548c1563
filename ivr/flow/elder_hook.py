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
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from ivr.privacy import mask_number

log = logging.getLogger(__name__)

DEPLOYMENT_PACKAGE = "hooks"  # resolved to <root>/hooks/, not to sys.path
POOL_WORKERS = 4


class HookError(ValueError):
    """The hook string names code outside the allowed packages, or cannot be found."""


def split_hook(hook: str) -> tuple[str, str]:
    module, _, func = hook.partition(":")
    if not module or not func:
        raise HookError(f"{hook!r}: must be 'package.module:function'")
    return module, func


def allowed(module: str, packages: Iterable[str]) -> bool:
    """True if ``module`` is inside one of the allowed packages (never the package's own
    ``__init__`` of a standard library or builtin module)."""
    return any(module.startswith(pkg + ".") and not _stdlib(pkg) for pkg in packages)


def problems(hook: str | None, packages: Iterable[str], root: Path) -> list[str]:
    """Why ``hook`` may not be used (empty list when it may); for `ivr check` / `ivr serve`."""
    if not hook:
        return []
    packages = list(packages)
    out = [f"allowed package {p!r} is a standard-library or builtin module"
           for p in packages if _stdlib(p)]
    try:
        module, _ = split_hook(hook)
    except HookError as exc:
        return [*out, str(exc)]
    if not allowed(module, packages):
        out.append(f"{module!r} is not inside an allowed package ({', '.join(packages)}); "
                   "put the hook in the deployment's hooks/ folder, e.g. hooks.elders:is_elder")
    elif module.split(".")[0] == DEPLOYMENT_PACKAGE and not _hook_file(root, module).is_file():
        out.append(f"no file {_hook_file(root, module)} for hook module {module!r}")
    return out


def _stdlib(name: str) -> bool:
    top = name.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def _hook_file(root: Path, module: str) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def load(hook: str, packages: Iterable[str], root: Path) -> Callable[[str], object]:
    """The hook function; raises HookError when it is not allowed or not found."""
    module, func = split_hook(hook)
    if not allowed(module, packages):
        raise HookError(f"{module!r} is not inside an allowed package")
    if module.split(".")[0] == DEPLOYMENT_PACKAGE:
        path = _hook_file(root, module)
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
