"""The ``clsmap`` command's arguments: every option with its default in ``--help``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from .._version import __version__

__all__ = ["build_parser"]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written, and every option's help ending with its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text or action.default is argparse.SUPPRESS:
            return text
        if action.nargs == 0:  # a flag
            return f"{text} (default: off)".strip()
        return f"{text} (default: %(default)s)".strip()


EPILOG = """\
examples:
  clsmap demo                                        fine-tune MiniLM on shipped WordNet data and map it
  clsmap map ./my-classifier reviews.csv -o out      extract -> project -> figure in one go
  clsmap map ./my-classifier train.csv test.csv -o out   the same, train and test drawn apart
  clsmap extract ./model data.jsonl -o out --layer all --pooling mean
  clsmap extract ./kcelectra data.csv -o out --module electra.encoder.layer[-1].output.LayerNorm
  clsmap extract /models/clf s3://bucket/texts.parquet -o out --backend ray --ray-address auto
  clsmap project out --method umap
  clsmap plot out
  clsmap view out -o map.html                        the interactive map: one offline HTML file
  clsmap analyze out                                 metrics, confusion regions, likely-mislabeled texts
  clsmap report out -o report.html                   one offline HTML page with all of it
  clsmap export out --to atlas -o atlas.parquet      the rows for Embedding Atlas (or projector, parquet)
  clsmap compare before after -o compare.html        two stores of the same texts, linked side by side
  clsmap train bert-base-uncased train.csv -o my-classifier --epochs 3
  clsmap train ./base train.csv -o clf --map-every epoch   also record the [CLS] space's snapshots
  clsmap dynamics clf -o clf_dynamics                      its player, animation, curves and cartography
"""


DATA_HELP = ("CSV, TSV, JSONL or Parquet file, or a datasets folder; several (train.csv test.csv) put each "
             "file's rows in a split named after it")
DTYPE_HELP = "auto: bfloat16 where the hardware runs it natively, else float32"
DTYPES = ["auto", "float32", "bfloat16", "float16"]
REMOTE_CODE_HELP = "allow a model to run code from its repository (only for models you trust)"
STORE = "store folder"


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call: its names and its keywords."""

    names: tuple[str, ...]
    options: dict[str, Any]


@dataclass(frozen=True)
class Group:
    """An argument group (a section of ``--help``) or, with ``exclusive``, a mutually exclusive group."""

    title: str | None
    items: tuple[Arg | Group, ...]
    exclusive: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    example: str
    items: tuple[Arg | Group, ...]


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


def group(title: str | None, *items: Arg | Group, exclusive: bool = False) -> Group:
    return Group(title, items, exclusive)


def data_options(*, labels_optional: bool = True, splits: bool = False) -> Group:
    """How to read the data: the same on every command that reads texts."""
    return group(
        "data",
        arg("--text-column", help="column with the texts (default: text, sentence, ... auto-detected)"),
        arg("--label-column", help="column with the labels (default: label, target, ... auto-detected)"),
        *([arg("--no-labels", action="store_true", help="ignore labels; colour the map by prediction")]
          if labels_optional else []),
        arg("--id-column", help="column with unique row ids (default: 'id' if present, else row numbers)"),
        arg("--no-ids", action="store_true", help="number the rows even if an id column exists"),
        *([arg("--split-column", help="column naming each row's split, e.g. train/test (default: none; "
               "several files, or a model folder from clsmap train, give splits too)")] if splits else []),
        arg("--format", default="auto", choices=["auto", "csv", "tsv", "jsonl", "parquet", "datasets"],
            help="data format (default: by file suffix)"),
        arg("--encoding", help="text encoding of CSV/TSV/JSONL files (default: UTF-8)"),
    )


EXTRACT_OPTIONS = (
    group(
        "extraction",
        group(
            None,
            arg("--layer", default=None,
                help="hidden-state index (default -1: last layer; 0: embeddings) or 'all'"),
            arg("--module", help="dotted path of a submodule to hook, e.g. encoder.layer[-1].output.LayerNorm "
                "(default: none; --layer decides)"),
            exclusive=True,
        ),
        arg("--pooling", default="cls", choices=["cls", "mean", "max", "pooler"], help="(default: cls)"),
        arg("--max-length", type=int, help="truncate texts to this many tokens (default: model limit, <= 512)"),
        arg("--batch-tokens", type=int, default=4096, help="token budget of a batch (default: 4096)"),
        arg("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default: auto)"),
        arg("--dtype", default="auto", choices=DTYPES, help=DTYPE_HELP),
        arg("--quantize", default="none", choices=["none", "int8"],
            help="int8: dynamic int8 linear layers on the CPU (faster, vectors ~0.99 cosine to float32)"),
        arg("--trust-remote-code", action="store_true", help=REMOTE_CODE_HELP),
        arg("--allow-pickle", action="store_true",
            help="allow pickle weights (pytorch_model.bin), which can run code when loaded; trusted files only"),
        arg("--overwrite", action="store_true", help="replace a store made with other settings"),
    ),
    group(
        "Ray backend (pip install 'clsmap[ray]')",
        arg("--backend", default="local", choices=["local", "ray"],
            help="local: this process; ray: Ray Data and an actor pool (default: local)"),
        arg("--ray-address", help="Ray cluster to join (auto, ray://head:10001, ...); default: RAY_ADDRESS, "
            "else a local Ray instance started for this run"),
        arg("--num-workers", type=int, help="model replicas (default: as many as the CPUs/GPUs allow)"),
        arg("--gpus-per-worker", type=float, default=0, help="GPUs of each worker, e.g. 1 or 0.5 (default: 0)"),
        arg("--cpus-per-worker", type=float, default=1, help="CPUs of each worker (default: 1)"),
        arg("--ray-num-cpus", type=int, help="CPUs of the local Ray instance (default: all)"),
    ),
)

PROJECT_OPTIONS = group(
    "projection",
    arg("--method", default="pacmap", choices=["pacmap", "localmap", "umap", "tsne", "pca"],
        help="(default: pacmap; localmap: PaCMAP with sharper boundaries between close clusters)"),
    arg("--seed", type=int, default=0, help="random seed of the projection (default: 0)"),
    arg("--n-neighbors", type=int,
        help="neighbourhood size of pacmap/umap (default: pacmap 10 up to 10k rows, more above; umap 15)"),
    arg("--max-fit", type=int, default=100_000,
        help="fit the map on a sample of this many rows and place the others by their nearest "
             "neighbours (default: 100000; 0 fits every row)"),
)

MODEL = arg("model", help="local model folder or Hugging Face Hub id")
DATA = arg("data", nargs="+", help=DATA_HELP)
LAST_LAYER = "(default: the last layer)"

GLOBAL_OPTIONS = (
    arg("--version", action="version", version=f"clsmap {__version__}"),
    arg("-v", "--verbose", action="store_true", help="debug logging"),
    arg("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bars"),
)

#: every command with its arguments, in the order ``clsmap --help`` lists them
COMMANDS = (
    Command("map", "extract, project and draw in one go", "clsmap map ./my-classifier data.csv -o out", (
        MODEL, DATA,
        arg("-o", "--out", required=True, help="output folder (the store and figures)"),
        data_options(splits=True), *EXTRACT_OPTIONS, PROJECT_OPTIONS,
    )),
    Command("extract", "write vectors, logits and predictions to a store",
            "clsmap extract ./model data.csv -o out --layer all", (
        MODEL, DATA,
        arg("-o", "--out", required=True, help=STORE),
        data_options(splits=True), *EXTRACT_OPTIONS,
    )),
    Command("project", "reduce a store's vectors to 2-D", "clsmap project out --method umap", (
        arg("store", help=STORE),
        arg("--column", help="vector column to map (default: the last layer); 'all' for every layer"),
        PROJECT_OPTIONS,
    )),
    Command("plot", "draw a store's map as PNG and SVG", "clsmap plot out -o figures/map", (
        arg("store", help=STORE),
        arg("-o", "--out", help="output path without suffix (default: STORE/map)"),
        arg("--column", help="vector column whose map to draw (default: the last layer)"),
        arg("--title", help="figure title (default: model, layer, pooling, reducer, N and accuracy)"),
        arg("--split", help="draw only this split's rows, e.g. test (default: every row)"),
    )),
    Command("view", "write the interactive map: one self-contained offline HTML file",
            "clsmap view out -o map.html", (
        arg("store", help=STORE),
        arg("-o", "--out", help="HTML file to write (default: STORE/map.html)"),
        arg("--column", help="vector column whose map to show (default: the last layer)"),
        arg("--max-text-chars", type=int, default=200,
            help="cut texts longer than this many characters in the file (default: 200; 0: keep whole)"),
        arg("--theme", default="auto", choices=["auto", "light", "dark"],
            help="initial theme (default: the browser's preference)"),
        arg("--title", help="page title (default: clsmap, the model and N)"),
        arg("--neighbours", type=int, default=None, metavar="K",
            help="nearest neighbours per text that a click lists (stored by clsmap analyze; default: all "
                 "10, fewer when they would add more than 25%% (and 4 MB) to the file; 0: none)"),
    )),
    Command("analyze", "measure separation, map faithfulness, confusion regions and likely-mislabeled texts",
            "clsmap analyze out --top 20", (
        arg("store", help=STORE),
        arg("--column", help="vector column to analyse (default: the last layer)"),
        arg("--k", type=int, default=10, help="neighbourhood size (default: 10)"),
        arg("--probs", default="probe", choices=["probe", "model"],
            help="out-of-sample probabilities for label issues: a cross-validated probe on the vectors "
                 "(default) or the model's own (only for rows held out from its training)"),
        arg("--top", type=int, default=10, help="likely-mislabeled texts to list (default: 10)"),
        arg("--seed", type=int, default=0, help="random seed of the probe and the samples"),
    )),
    Command("report", "write a self-contained offline HTML report (and report.json)",
            "clsmap report out -o report.html", (
        arg("store", help=STORE),
        arg("-o", "--out", help="HTML file (default: STORE/report.html); report.json is written beside it"),
        arg("--column", help="vector column to analyse (default: the last layer)"),
        arg("--probs", default="probe", choices=["probe", "model"], help="as for analyze (default: probe)"),
        arg("--top", type=int, default=30, help="likely-mislabeled texts to list (default: 30)"),
        arg("--seed", type=int, default=0, help="random seed of the probe and the samples"),
    )),
    Command("export", "write the rows for another tool: Embedding Atlas, TensorBoard's Projector or flat Parquet",
            "clsmap export out --to atlas -o atlas.parquet", (
        arg("store", help=STORE),
        arg("--to", required=True, choices=["atlas", "projector", "parquet"],
            help="atlas: a Parquet file for embedding-atlas; projector: a folder with vectors.tsv, metadata.tsv "
                 "and projector_config.pbtxt; parquet: one flat file with the vectors"),
        arg("-o", "--out", required=True, help="file to write (a folder for --to projector)"),
        arg("--column", help="vector column to export, with its 2-D map (default: the last layer)"),
    )),
    Command("compare", "compare two stores of the same texts (two models, two layers, before/after fine-tuning): "
            "linked maps side by side, what changed, the metric diff", "clsmap compare before after -o compare.html", (
        arg("store_a", help="store A (e.g. before fine-tuning)"),
        arg("store_b", help="store B, of the same texts (matched by id); may be STORE_A with --column-b"),
        arg("-o", "--out", help="HTML page to write; compare.json is written beside it "
            "(default: STORE_B/compare.html)"),
        arg("--column-a", help="vector column of A (default: its last layer)"),
        arg("--column-b", help="vector column of B (default: its last layer)"),
        arg("--alignment", default="auto", choices=["auto", "procrustes", "joint"],
            help="how the maps are put side by side; auto measures both and keeps the one that moves "
                 "unchanged texts least"),
        arg("--k", type=int, default=10, help="neighbourhood size of 'moved' and of the analyses"),
        arg("--top", type=int, default=50, help="texts in the moved-most table"),
        arg("--max-text-chars", type=int, default=200,
            help="cut texts longer than this many characters in the maps (0: keep whole)"),
        arg("--seed", type=int, default=0, help="random seed of the analyses and the alignment sample"),
    )),
    Command("train", "fine-tune a sequence classifier", "clsmap train ./base-model train.csv -o my-classifier", (
        arg("model", help="base model folder or Hub id"),
        arg("data", help="labeled CSV, TSV, JSONL or Parquet file"),
        arg("-o", "--out", required=True, help="folder for the fine-tuned model"),
        data_options(labels_optional=False),
        arg("--epochs", type=int, default=3, help="passes over the training rows"),
        arg("--batch-size", type=int, default=32, help="texts per optimisation step"),
        arg("--learning-rate", type=float, default=5e-5, help="AdamW's peak learning rate"),
        arg("--max-length", type=int, default=128, help="truncate texts to this many tokens"),
        arg("--validation", type=float, default=0.1, help="held-out fraction (default: 0.1)"),
        arg("--seed", type=int, default=0, help="random seed of the split, the head and the batches"),
        arg("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps"),
        arg("--dtype", default="auto", choices=DTYPES, help=DTYPE_HELP),
        arg("--trust-remote-code", action="store_true", help=REMOTE_CODE_HELP),
        arg("--allow-pickle", action="store_true", help="allow pickle weights (pytorch_model.bin)"),
        arg("--overwrite", action="store_true", help="replace a model already in --out"),
        group(
            "training dynamics (clsmap dynamics OUT draws them)",
            arg("--map-every", metavar="N|epoch",
                help="record the [CLS] vectors and logits of a probe set (the validation rows and up to "
                     "--map-train-rows training rows) before training and every N steps, or every epoch, "
                     "into OUT/dynamics (default: off)"),
            arg("--map-train-rows", type=int,
                help="training rows in the probe set, besides the validation rows (default: 1000, and at most "
                     "a quarter of the training rows)"),
            arg("--keep-checkpoints", action="store_true",
                help="also save the weights at every snapshot in OUT/checkpoints/step-N"),
        ),
    )),
    Command("dynamics", "map a training run's dynamics: aligned maps per step, curves, cartography, player, GIF",
            "clsmap dynamics my-classifier -o dynamics_view", (
        arg("run", help="training output folder recorded with clsmap train --map-every (or its dynamics store)"),
        arg("-o", "--out", required=True, help="folder for player.html, dynamics.gif (.mp4) and dynamics.json"),
        arg("--seed", type=int, default=0, help="random seed of the maps and the probes (default: 0)"),
        arg("--max-text-chars", type=int, default=200,
            help="cut texts longer than this many characters in the player (default: 200; 0: keep whole)"),
        arg("--theme", default="auto", choices=["auto", "light", "dark"], help="initial theme of the player"),
        arg("--max-rows", type=int, default=20_000,
            help="the most texts of a snapshot mapped (a random sample above; curves and cartography use all)"),
        arg("--no-animation", action="store_true", help="skip the GIF/MP4"),
    )),
    Command("demo", "fine-tune all-MiniLM-L6-v2 on shipped WordNet data; map before and after", "clsmap demo -o demo", (
        arg("-o", "--out", default="clsmap-demo", help="output folder (default: ./clsmap-demo)"),
        arg("--model", help="base model folder (default: the packaged all-MiniLM-L6-v2)"),
        arg("--epochs", type=int, default=2, help="passes over the training rows"),
        arg("--train-rows", type=int, default=1500, help="training rows used (default: 1500)"),
        arg("--dtype", default="auto", choices=DTYPES, help=DTYPE_HELP),
    )),
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="clsmap",
        description="Map the [CLS] vector space of a text classifier.",
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    _add(parser, GLOBAL_OPTIONS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        _add(sub.add_parser(command.name, help=command.help, description=command.help,
                            epilog=f"example:\n  {command.example}", formatter_class=_HelpFormatter), command.items)
    return parser


def _add(target: Any, items: tuple[Arg | Group, ...]) -> None:
    """Add ``items`` to a parser or a group, groups with their own items."""
    for item in items:
        if isinstance(item, Group):
            inner = target.add_mutually_exclusive_group() if item.exclusive else target.add_argument_group(item.title)
            _add(inner, item.items)
        else:
            target.add_argument(*item.names, **item.options)
