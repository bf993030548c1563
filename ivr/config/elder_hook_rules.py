"""Which elder lookup hooks config/elders.yaml may name: checked by `ivr check` and at load.

Why here: the rule is part of validating the admin's files (config), while running the hook is
the call flow's job (``ivr.flow.elder_hook``); keeping the rule in config lets the loader check it
without importing the flow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

DEPLOYMENT_PACKAGE = "hooks"  # resolved to <root>/hooks/, not to sys.path


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
    return any(module.startswith(pkg + ".") and not is_stdlib(pkg) for pkg in packages)


def problems(hook: str | None, packages: Iterable[str], root: Path) -> list[str]:
    """Why ``hook`` may not be used (empty list when it may); for `ivr check` / `ivr serve`."""
    if not hook:
        return []
    packages = list(packages)
    out = [f"allowed package {p!r} is a standard-library or builtin module"
           for p in packages if is_stdlib(p)]
    try:
        module, _ = split_hook(hook)
    except HookError as exc:
        return [*out, str(exc)]
    if not allowed(module, packages):
        out.append(f"{module!r} is not inside an allowed package ({', '.join(packages)}); "
                   "put the hook in the deployment's hooks/ folder, e.g. hooks.elders:is_elder")
    elif module.split(".")[0] == DEPLOYMENT_PACKAGE and not hook_file(root, module).is_file():
        out.append(f"no file {hook_file(root, module)} for hook module {module!r}")
    return out


def is_stdlib(name: str) -> bool:
    top = name.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def hook_file(root: Path, module: str) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")
