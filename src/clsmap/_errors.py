"""The exceptions clsmap raises for problems a user can fix."""

from __future__ import annotations

from types import ModuleType

__all__ = ["ClsmapError", "MissingExtraError"]


class ClsmapError(Exception):
    """A problem with the user's input, options or files.

    The message is one line that names the file, row, column or option at fault and
    says what to do. The CLI prints it without a traceback.
    """


class MissingExtraError(ClsmapError, ImportError):
    """An optional backend is not installed; the message names the pip extra."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}', which is not installed: "
            f"pip install 'clsmap[{extra}]'"
        )
        self.package = package
        self.extra = extra


def require(module: str, *, extra: str, purpose: str, package: str | None = None) -> ModuleType:
    """Import an optional backend, or raise :class:`MissingExtraError` naming its extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(package or module, extra, purpose) from exc
