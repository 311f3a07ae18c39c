"""What every backend does on the driver before and after the model runs: match labels to the model's
classes, describe the run in the store's manifest, open (or resume) the store, show progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..io.dataset import LabeledTexts
from ..store.schema import Manifest, part_rows_for
from ..store.writer import StoreWriter
from .models import LoadedModel
from .runner import Target

__all__ = ["InputSummary", "summarize", "class_names", "label_lookup", "make_manifest", "open_writer", "progress_bar"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputSummary:
    """What the manifest and the label handling need to know about the whole input."""

    source: str
    fingerprint: str
    text_column: str
    label_column: str | None
    id_column: str | None
    labels_are_integers: bool
    labels: set[str] | None
    n_rows: int


def summarize(texts: LabeledTexts) -> InputSummary:
    """What :class:`InputSummary` says of texts read into memory."""
    return InputSummary(
        source=texts.source, fingerprint=texts.fingerprint, text_column=texts.text_column,
        label_column=texts.label_column, id_column=texts.id_column, labels_are_integers=texts.labels_are_integers,
        labels=None if texts.label_column is None else set(texts.table.column("label").unique().to_pylist()),
        n_rows=len(texts),
    )


def class_names(loaded: LoadedModel, data: InputSummary) -> list[str] | None:
    if loaded.classes is None:
        return None
    if not loaded.named_classes and data.labels_are_integers:
        return [str(i) for i in range(len(loaded.classes))]
    return list(loaded.classes)


def label_lookup(classes: list[str] | None, data: InputSummary) -> dict[str, int] | None:
    """Class index of each distinct label (labels missing from the result are not classes of the model).

    Integer labels are read as class indices only when they are not all class names.
    """
    distinct = data.labels
    if classes is None or distinct is None:
        return None
    lookup = {name: i for i, name in enumerate(classes)}
    if data.labels_are_integers and not distinct <= set(lookup):
        lookup = {str(i): i for i in range(len(classes))}
    unknown = sorted(distinct - set(lookup))
    if unknown:
        logger.warning(
            "%s: %d label(s) are not classes of the model (%s; the model has %s): 'correct' is left "
            "empty for their rows",
            data.source, len(unknown), ", ".join(unknown[:5]), ", ".join(classes[:8]),
        )
    return lookup


def make_manifest(loaded: LoadedModel, data: InputSummary, target: Target, classes: list[str] | None, *,
                  max_length: int, dtype: str, device: str, quantize: str = "none") -> Manifest:
    """What the store records about the run; the part size keeps one part's vectors under 64 MB."""
    config = loaded.model.config
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    return Manifest(
        n_rows=data.n_rows,
        part_rows=part_rows_for(hidden, len(target.columns)),
        vector_columns=target.columns,
        default_vector=target.columns[-1],
        model={
            "name_or_path": loaded.name_or_path,
            "config_hash": loaded.config_hash,
            "architecture": type(loaded.model).__name__,
            "model_type": getattr(config, "model_type", None),
            "hidden_size": hidden or None,
        },
        extraction={**target.description, "max_length": max_length, "dtype": dtype,
                    **({"quantize": quantize} if quantize != "none" else {})},
        dataset={
            "source": data.source,
            "sha256": data.fingerprint,
            "text_column": data.text_column,
            "label_column": data.label_column,
            "id_column": data.id_column,
        },
        classes=classes,
        device=device,
        clsmap_version=__version__,
    )


def open_writer(out: str | Path, manifest: Manifest, *, overwrite: bool) -> tuple[StoreWriter, list[int]]:
    """The store's writer and the parts still to write (a compatible unfinished store is resumed)."""
    writer = StoreWriter(out, manifest, overwrite=overwrite)
    done = writer.done_parts()
    todo = [k for k in range(manifest.n_parts) if k not in done]
    if done and not todo:
        logger.info("%s is already complete", out)
    elif done:
        logger.info("resuming %s: %d of %d parts already written", out, len(done), manifest.n_parts)
    return writer, todo


def progress_bar(writer: StoreWriter, todo: list[int], *, progress: bool | None, desc: str) -> Any:
    """A bar over the store's rows, starting at those already written."""
    from tqdm.auto import tqdm

    show = progress if progress is not None else logger.isEnabledFor(logging.INFO)
    done_rows = writer.manifest.n_rows - sum(writer.expected_rows(k) for k in todo)
    return tqdm(total=writer.manifest.n_rows, initial=done_rows, unit="text", desc=desc, disable=not show,
                dynamic_ncols=True)
