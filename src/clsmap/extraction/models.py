"""Loading a Hugging Face encoder (with or without a classification head), its device and dtype.

A checkpoint whose config names a ``*ForSequenceClassification`` architecture loads as
``AutoModelForSequenceClassification`` (its ``id2label`` names the classes); anything else loads
as ``AutoModel`` and yields vectors without predictions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._errors import ClsmapError
from .._validation import check_choice

__all__ = [
    "LoadedModel", "load_model", "resolve_device", "resolve_dtype", "cpu_has_native_bf16", "autocast_for",
    "config_hash", "check_local_folder",
]

logger = logging.getLogger(__name__)

DType = Literal["auto", "float32", "bfloat16", "float16"]
DTYPES = ("auto", "float32", "bfloat16", "float16")
Device = Literal["auto", "cpu", "cuda", "mps"]
DEVICES = ("auto", "cpu", "cuda", "mps")
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")
_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")


@dataclass
class LoadedModel:
    """A model ready for inference, with what the store records about it."""

    model: Any
    tokenizer: Any
    name_or_path: str
    config_hash: str
    #: class names by index when the model has a classification head, else ``None``
    classes: list[str] | None
    #: whether ``classes`` are real names (not transformers' ``LABEL_0`` placeholders)
    named_classes: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_head(self) -> bool:
        return self.classes is not None


def resolve_device(device: str | None = "auto") -> str:
    """``auto`` picks CUDA, then Apple MPS, then the CPU."""
    import torch

    device = device or "auto"
    check_choice(device.split(":")[0], DEVICES, param="device", func="extract")
    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ClsmapError(f"--device {device}: no CUDA device is available; use --device cpu")
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (AMX or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_dtype(dtype: DType, device: str, *, func: str = "extract") -> str:
    """``auto`` is bfloat16 where the hardware runs it natively, float32 elsewhere."""
    import torch

    check_choice(dtype, DTYPES, param="dtype", func=func)
    if dtype != "auto":
        if dtype == "float16" and device == "cpu":
            raise ClsmapError("--dtype float16 is for GPUs; on the CPU use bfloat16 or float32")
        return dtype
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "cpu" and cpu_has_native_bf16():
        return "bfloat16"
    return "float32"


def config_hash(config: Any) -> str:
    """sha256 of the config's non-default values: what the store records to tell models apart."""
    payload = json.dumps(config.to_diff_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def check_local_folder(path: Path, *, allow_pickle: bool) -> None:
    if not path.is_dir():
        raise ClsmapError(f"model {path}: a file, not a model folder (one with config.json and weights)")
    if not (path / "config.json").exists():
        raise ClsmapError(f"model folder {path} has no config.json; is it a Hugging Face model folder?")
    if not any((path / name).exists() for name in _WEIGHT_FILES) and not list(path.glob("*.safetensors")):
        raise ClsmapError(
            f"model folder {path} has no weights (model.safetensors or pytorch_model.bin); "
            "save the model with save_pretrained()"
        )
    has_safetensors = bool(list(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").exists())
    if not has_safetensors:
        if not allow_pickle:
            raise ClsmapError(
                f"model folder {path} has only pickle weights (pytorch_model.bin), and loading a pickle can run "
                "any code inside it; save the model as safetensors (model.save_pretrained() does), or pass "
                "--allow-pickle (allow_pickle=True) if you trust where the file came from"
            )
        logger.warning("%s: loading pickle weights (pytorch_model.bin) because --allow-pickle was given", path)


def load_model(
    name_or_path: str | Path,
    *,
    device: str = "auto",
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    head: Literal["auto", "classifier", "encoder"] = "auto",
) -> LoadedModel:
    """Load a model and its tokenizer from a local folder or a Hugging Face Hub id.

    ``head="auto"`` loads the classification head when the checkpoint has one;
    ``"encoder"`` always loads the bare encoder. Weights are read from safetensors files only:
    pickle weights (``pytorch_model.bin``) can run code when loaded, and need
    ``allow_pickle=True``; ``trust_remote_code=True`` runs the model repository's own Python
    code. Both are off by default and logged as warnings when on.
    """
    import torch  # noqa: F401  (imported before transformers so its errors surface first)

    check_choice(head, ("auto", "classifier", "encoder"), param="head", func="load_model")
    if trust_remote_code:
        logger.warning("%s: --trust-remote-code runs Python code from the model's repository", name_or_path)
    source = _checked_source(str(name_or_path), allow_pickle=allow_pickle)
    config, tokenizer = _config_and_tokenizer(source, trust_remote_code=trust_remote_code)
    with_head = head == "classifier" or (head == "auto" and _is_classifier(config))
    model = _weights(source, with_head=with_head, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle)
    model.eval()
    model.to(resolve_device(device))
    classes, named = _classes(config) if with_head else (None, False)
    logger.info(
        "loaded %s (%s, %s)", source, type(model).__name__,
        f"{len(classes)} classes" if classes else "no classification head",
    )
    return LoadedModel(model=model, tokenizer=tokenizer, name_or_path=source, config_hash=config_hash(config),
                       classes=classes, named_classes=named)


def _checked_source(source: str, *, allow_pickle: bool) -> str:
    """A local folder (checked: config and safetensors weights), or a Hub id."""
    local = Path(source).expanduser()
    if local.exists():
        check_local_folder(local, allow_pickle=allow_pickle)
        return str(local)
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise ClsmapError(f"model {source}: no such folder")
    return source


def _config_and_tokenizer(source: str, *, trust_remote_code: bool) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise ClsmapError(
            f"model {source!r}: not a local folder, and it could not be loaded from the Hugging Face Hub "
            f"({_first_line(exc)}); pass a local model folder, or connect to the Hub"
        ) from None
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise ClsmapError(
                f"model {source!r} needs code from its repository; pass --trust-remote-code only if "
                "you trust that code"
            ) from None
        raise ClsmapError(f"model {source!r}: {_first_line(exc)}") from None
    return config, tokenizer


def _is_classifier(config: Any) -> bool:
    """Whether the config names a ``*ForSequenceClassification`` architecture."""
    architectures = getattr(config, "architectures", None) or []
    return any(a.endswith("ForSequenceClassification") for a in architectures)


def _weights(source: str, *, with_head: bool, trust_remote_code: bool, allow_pickle: bool) -> Any:
    from transformers import AutoModel, AutoModelForSequenceClassification

    loader = AutoModelForSequenceClassification if with_head else AutoModel
    try:
        return loader.from_pretrained(source, trust_remote_code=trust_remote_code,
                                      use_safetensors=None if allow_pickle else True)
    except OSError as exc:
        hint = "" if allow_pickle else "; if it has only pickle weights and you trust them, pass --allow-pickle"
        raise ClsmapError(f"model {source!r}: could not load the weights ({_first_line(exc)}){hint}") from None


def _classes(config: Any) -> tuple[list[str], bool]:
    """The class names by index, and whether they are real names (not ``LABEL_0`` placeholders)."""
    id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
    n = int(getattr(config, "num_labels", len(id2label)))
    classes = [id2label.get(i, f"LABEL_{i}") for i in range(n)]
    return classes, not all(_GENERIC_LABEL.match(c) for c in classes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def autocast_for(device: str, dtype: str) -> Any:
    """A ``torch.autocast`` context for ``dtype`` on ``device``, or a no-op for float32."""
    import torch

    if dtype == "float32":
        return nullcontext()
    return torch.autocast(device.split(":")[0], dtype=getattr(torch, dtype))
