"""The local backend: the model runs in this process, part after part.

Tokenization of the next part overlaps the forward passes of this one (a thread), and each part is
written as soon as it is complete: memory is bounded by a part, not by the dataset, and an
interrupted run resumes at the first part that is not on disk.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

from .._memory import release_freed_memory
from ..io.dataset import read_dataset
from .driver import class_names, label_lookup, make_manifest, open_writer, progress_bar, summarize
from .models import LoadedModel, load_model
from .runner import Options, extract_chunk, prepare

__all__ = ["LocalBackend"]

logger = logging.getLogger(__name__)


class LocalBackend:
    """Runs the model in this process (``device`` picks CPU, CUDA or MPS). It takes no options."""

    name: ClassVar[str] = "local"

    def run(self, model: str | Path | LoadedModel, data: Any, out: str | Path, *, options: Options,
            device: str, read_options: dict[str, Any], overwrite: bool, trust_remote_code: bool,
            allow_pickle: bool, progress: bool | None) -> None:
        texts = read_dataset(data, **read_options)
        give_back_freed_memory()  # what the file reader used beyond the texts themselves
        loaded = model if isinstance(model, LoadedModel) else load_model(
            model, device=device, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle
        )
        summary = summarize(texts)
        classes = class_names(loaded, summary)
        runner = prepare(loaded, options, classes=classes, label_lookup=label_lookup(classes, summary))
        manifest = make_manifest(loaded, summary, runner.target, classes, max_length=runner.max_length,
                                 dtype=runner.dtype, device=runner.device, quantize=options.quantize)
        writer, todo = open_writer(out, manifest, overwrite=overwrite)
        part_rows = writer.part_rows

        def chunk(k: int) -> Any:
            return texts.table.slice(k * part_rows, writer.expected_rows(k))

        def tokenize(k: int) -> Any:
            return runner.tokenize(chunk(k).column("text").to_pylist())

        try:
            with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as pool_exec:
                hooked = stack.enter_context(runner.session())
                bar = stack.enter_context(progress_bar(writer, todo, progress=progress, desc="extract"))
                upcoming = [pool_exec.submit(tokenize, todo[0])] if todo else []  # the next chunk's tokens
                for position, k in enumerate(todo):
                    encoded = upcoming.pop().result()
                    if position + 1 < len(todo):
                        upcoming.append(pool_exec.submit(tokenize, todo[position + 1]))
                    table = extract_chunk(runner, chunk(k), encoded=encoded, hooked=hooked, bar=bar, in_session=True)
                    writer.write_part(k, table)
                    del table, encoded
                    give_back_freed_memory()
            writer.finish()
        finally:
            writer.close()


def give_back_freed_memory() -> None:
    """Return freed heap to the system between parts (glibc keeps it otherwise, and the
    fragmentation of a long run with a tokenizer thread beside the model grows with N), and what
    Arrow's pool holds."""
    import pyarrow as pa

    release_freed_memory()
    pa.default_memory_pool().release_unused()
