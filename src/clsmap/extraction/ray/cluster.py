"""Joining or starting a Ray cluster, sizing the actor pool, and unwrapping Ray's errors."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..._errors import ClsmapError
from ..models import resolve_dtype

__all__ = ["connect", "default_workers", "worker_dtype", "user_error", "quiet_data_context"]

logger = logging.getLogger(__name__)


def connect(ray: Any, address: str | None, num_cpus: int | None, *, verbose: bool) -> bool:
    """Join ``address`` (or ``RAY_ADDRESS``), or start a local instance; True if this call started Ray."""
    if ray.is_initialized():
        if address:
            logger.warning("Ray is already initialised in this process; --ray-address %s is not used", address)
        return False
    quiet = dict(include_dashboard=False, log_to_driver=verbose,
                 logging_level=logging.INFO if verbose else logging.WARNING,
                 configure_logging=True)
    if address or os.environ.get("RAY_ADDRESS"):
        if num_cpus is not None:
            raise ClsmapError("--ray-num-cpus sizes a local Ray instance; it cannot be used with --ray-address")
        try:
            ray.init(address=address or None, **quiet)
        except ConnectionError as exc:
            raise ClsmapError(f"--ray-address {address or os.environ['RAY_ADDRESS']}: cannot join the Ray "
                              f"cluster ({exc}); is it running (ray status)?") from None
        logger.info("joined the Ray cluster at %s", address or os.environ["RAY_ADDRESS"])
    else:
        ray.init(num_cpus=num_cpus, **quiet)
        logger.info("started a local Ray instance (%s CPUs)", int(ray.cluster_resources().get("CPU", 0)))
    return True


def default_workers(ray: Any, cpus_per_worker: float, gpus_per_worker: float) -> int:
    resources = ray.cluster_resources()
    if gpus_per_worker:
        return max(1, int(resources.get("GPU", 0) // gpus_per_worker))
    return max(1, int(resources.get("CPU", 1) // cpus_per_worker))


def worker_dtype(dtype: str, device: str) -> str:
    """The dtype the actors will run, decided on the driver (it is part of the manifest)."""
    kind = device.split(":")[0]
    if dtype == "auto" and kind == "cuda":
        return "bfloat16"  # every GPU Ray clusters run BERT-family models on runs in bf16
    return resolve_dtype(dtype, kind)  # type: ignore[arg-type]


def user_error(exc: BaseException) -> ClsmapError | None:
    """The :class:`ClsmapError` behind an exception that Ray wrapped (a task's or an actor's)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        if isinstance(cause, ClsmapError):
            return cause
        if isinstance(current, ClsmapError) and not hasattr(current, "cause"):
            return current  # raised as such (Ray's wrappers of a task's error carry it as .cause)
        stack.extend([cause if isinstance(cause, BaseException) else None, current.__cause__, current.__context__])
    return None


@contextmanager
def quiet_data_context() -> Iterator[Any]:
    """Ray Data's context without its own progress bars (clsmap's bar counts the rows written) and
    without order preservation; every setting is restored afterwards."""
    from ray.data import DataContext

    context = DataContext.get_current()
    saved = {"enable_progress_bars": context.enable_progress_bars,
             "print_on_execution_start": getattr(context, "print_on_execution_start", None)}
    preserve_order = context.execution_options.preserve_order
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.execution_options.preserve_order = False
    try:
        yield context
    finally:
        context.execution_options.preserve_order = preserve_order
        for name, value in saved.items():
            setattr(context, name, value)
