"""The ``clsmap`` command's arguments: every option with its default in ``--help``."""

from __future__ import annotations

import argparse

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


def _data_options(p: argparse.ArgumentParser, *, labels_optional: bool = True, splits: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--text-column", help="column with the texts (default: text, sentence, ... auto-detected)")
    g.add_argument("--label-column", help="column with the labels (default: label, target, ... auto-detected)")
    if labels_optional:
        g.add_argument("--no-labels", action="store_true", help="ignore labels; colour the map by prediction")
    g.add_argument("--id-column", help="column with unique row ids (default: 'id' if present, else row numbers)")
    g.add_argument("--no-ids", action="store_true", help="number the rows even if an id column exists")
    if splits:
        g.add_argument("--split-column", help="column naming each row's split, e.g. train/test (default: none; "
                       "several files, or a model folder from clsmap train, give splits too)")
    g.add_argument("--format", default="auto", choices=["auto", "csv", "tsv", "jsonl", "parquet", "datasets"],
                   help="data format (default: by file suffix)")
    g.add_argument("--encoding", help="text encoding of CSV/TSV/JSONL files (default: UTF-8)")


def _extract_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("extraction")
    what = g.add_mutually_exclusive_group()
    what.add_argument("--layer", default=None,
                      help="hidden-state index (default -1: last layer; 0: embeddings) or 'all'")
    what.add_argument("--module", help="dotted path of a submodule to hook, e.g. encoder.layer[-1].output.LayerNorm "
                      "(default: none; --layer decides)")
    g.add_argument("--pooling", default="cls", choices=["cls", "mean", "max", "pooler"], help="(default: cls)")
    g.add_argument("--max-length", type=int, help="truncate texts to this many tokens (default: model limit, <= 512)")
    g.add_argument("--batch-tokens", type=int, default=4096, help="token budget of a batch (default: 4096)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default: auto)")
    g.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto: bfloat16 where the hardware runs it natively, else float32")
    g.add_argument("--quantize", default="none", choices=["none", "int8"],
                   help="int8: dynamic int8 linear layers on the CPU (faster, vectors ~0.99 cosine to float32)")
    g.add_argument("--trust-remote-code", action="store_true",
                   help="allow a model to run code from its repository (only for models you trust)")
    g.add_argument("--allow-pickle", action="store_true",
                   help="allow pickle weights (pytorch_model.bin), which can run code when loaded; trusted files only")
    g.add_argument("--overwrite", action="store_true", help="replace a store made with other settings")
    r = p.add_argument_group("Ray backend (pip install 'clsmap[ray]')")
    r.add_argument("--backend", default="local", choices=["local", "ray"],
                   help="local: this process; ray: Ray Data and an actor pool (default: local)")
    r.add_argument("--ray-address", help="Ray cluster to join (auto, ray://head:10001, ...); default: RAY_ADDRESS, "
                   "else a local Ray instance started for this run")
    r.add_argument("--num-workers", type=int, help="model replicas (default: as many as the CPUs/GPUs allow)")
    r.add_argument("--gpus-per-worker", type=float, default=0, help="GPUs of each worker, e.g. 1 or 0.5 (default: 0)")
    r.add_argument("--cpus-per-worker", type=float, default=1, help="CPUs of each worker (default: 1)")
    r.add_argument("--ray-num-cpus", type=int, help="CPUs of the local Ray instance (default: all)")


def _project_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("projection")
    g.add_argument("--method", default="pacmap", choices=["pacmap", "localmap", "umap", "tsne", "pca"],
                   help="(default: pacmap; localmap: PaCMAP with sharper boundaries between close clusters)")
    g.add_argument("--seed", type=int, default=0, help="random seed of the projection (default: 0)")
    g.add_argument("--n-neighbors", type=int,
                   help="neighbourhood size of pacmap/umap (default: pacmap 10 up to 10k rows, more above; umap 15)")
    g.add_argument("--max-fit", type=int, default=100_000,
                   help="fit the map on a sample of this many rows and place the others by their nearest "
                        "neighbours (default: 100000; 0 fits every row)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clsmap",
        description="Map the [CLS] vector space of a text classifier.",
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"clsmap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                              formatter_class=_HelpFormatter)

    p = add("map", "extract, project and draw in one go", "clsmap map ./my-classifier data.csv -o out")
    p.add_argument("model", help="local model folder or Hugging Face Hub id")
    p.add_argument("data", nargs="+", help=DATA_HELP)
    p.add_argument("-o", "--out", required=True, help="output folder (the store and figures)")
    _data_options(p, splits=True)
    _extract_options(p)
    _project_options(p)

    p = add("extract", "write vectors, logits and predictions to a store",
            "clsmap extract ./model data.csv -o out --layer all")
    p.add_argument("model", help="local model folder or Hugging Face Hub id")
    p.add_argument("data", nargs="+", help=DATA_HELP)
    p.add_argument("-o", "--out", required=True, help="store folder")
    _data_options(p, splits=True)
    _extract_options(p)

    p = add("project", "reduce a store's vectors to 2-D", "clsmap project out --method umap")
    p.add_argument("store", help="store folder")
    p.add_argument("--column", help="vector column to map (default: the last layer); 'all' for every layer")
    _project_options(p)

    p = add("plot", "draw a store's map as PNG and SVG", "clsmap plot out -o figures/map")
    p.add_argument("store", help="store folder")
    p.add_argument("-o", "--out", help="output path without suffix (default: STORE/map)")
    p.add_argument("--column", help="vector column whose map to draw (default: the last layer)")
    p.add_argument("--title", help="figure title (default: model, layer, pooling, reducer, N and accuracy)")
    p.add_argument("--split", help="draw only this split's rows, e.g. test (default: every row)")

    p = add("view", "write the interactive map: one self-contained offline HTML file",
            "clsmap view out -o map.html")
    p.add_argument("store", help="store folder")
    p.add_argument("-o", "--out", help="HTML file to write (default: STORE/map.html)")
    p.add_argument("--column", help="vector column whose map to show (default: the last layer)")
    p.add_argument("--max-text-chars", type=int, default=200,
                   help="cut texts longer than this many characters in the file (default: 200; 0: keep whole)")
    p.add_argument("--theme", default="auto", choices=["auto", "light", "dark"],
                   help="initial theme (default: the browser's preference)")
    p.add_argument("--title", help="page title (default: clsmap, the model and N)")
    p.add_argument("--neighbours", type=int, default=None, metavar="K",
                   help="nearest neighbours per text that a click lists (stored by clsmap analyze; default: all "
                        "10, fewer when they would add more than 25%% (and 4 MB) to the file; 0: none)")

    p = add("analyze", "measure separation, map faithfulness, confusion regions and likely-mislabeled texts",
            "clsmap analyze out --top 20")
    p.add_argument("store", help="store folder")
    p.add_argument("--column", help="vector column to analyse (default: the last layer)")
    p.add_argument("--k", type=int, default=10, help="neighbourhood size (default: 10)")
    p.add_argument("--probs", default="probe", choices=["probe", "model"],
                   help="out-of-sample probabilities for label issues: a cross-validated probe on the vectors "
                        "(default) or the model's own (only for rows held out from its training)")
    p.add_argument("--top", type=int, default=10, help="likely-mislabeled texts to list (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the probe and the samples")

    p = add("report", "write a self-contained offline HTML report (and report.json)",
            "clsmap report out -o report.html")
    p.add_argument("store", help="store folder")
    p.add_argument("-o", "--out", help="HTML file (default: STORE/report.html); report.json is written beside it")
    p.add_argument("--column", help="vector column to analyse (default: the last layer)")
    p.add_argument("--probs", default="probe", choices=["probe", "model"], help="as for analyze (default: probe)")
    p.add_argument("--top", type=int, default=30, help="likely-mislabeled texts to list (default: 30)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the probe and the samples")

    p = add("export", "write the rows for another tool: Embedding Atlas, TensorBoard's Projector or flat Parquet",
            "clsmap export out --to atlas -o atlas.parquet")
    p.add_argument("store", help="store folder")
    p.add_argument("--to", required=True, choices=["atlas", "projector", "parquet"],
                   help="atlas: a Parquet file for embedding-atlas; projector: a folder with vectors.tsv, metadata.tsv "
                        "and projector_config.pbtxt; parquet: one flat file with the vectors")
    p.add_argument("-o", "--out", required=True, help="file to write (a folder for --to projector)")
    p.add_argument("--column", help="vector column to export, with its 2-D map (default: the last layer)")

    p = add("compare", "compare two stores of the same texts (two models, two layers, before/after fine-tuning): "
            "linked maps side by side, what changed, the metric diff", "clsmap compare before after -o compare.html")
    p.add_argument("store_a", help="store A (e.g. before fine-tuning)")
    p.add_argument("store_b", help="store B, of the same texts (matched by id); may be STORE_A with --column-b")
    p.add_argument("-o", "--out", help="HTML page to write; compare.json is written beside it "
                   "(default: STORE_B/compare.html)")
    p.add_argument("--column-a", help="vector column of A (default: its last layer)")
    p.add_argument("--column-b", help="vector column of B (default: its last layer)")
    p.add_argument("--alignment", default="auto", choices=["auto", "procrustes", "joint"],
                   help="how the maps are put side by side; auto measures both and keeps the one that moves "
                        "unchanged texts least")
    p.add_argument("--k", type=int, default=10, help="neighbourhood size of 'moved' and of the analyses")
    p.add_argument("--top", type=int, default=50, help="texts in the moved-most table")
    p.add_argument("--max-text-chars", type=int, default=200,
                   help="cut texts longer than this many characters in the maps (0: keep whole)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the analyses and the alignment sample")

    p = add("train", "fine-tune a sequence classifier", "clsmap train ./base-model train.csv -o my-classifier")
    p.add_argument("model", help="base model folder or Hub id")
    p.add_argument("data", help="labeled CSV, TSV, JSONL or Parquet file")
    p.add_argument("-o", "--out", required=True, help="folder for the fine-tuned model")
    _data_options(p, labels_optional=False)
    p.add_argument("--epochs", type=int, default=3, help="passes over the training rows")
    p.add_argument("--batch-size", type=int, default=32, help="texts per optimisation step")
    p.add_argument("--learning-rate", type=float, default=5e-5, help="AdamW's peak learning rate")
    p.add_argument("--max-length", type=int, default=128, help="truncate texts to this many tokens")
    p.add_argument("--validation", type=float, default=0.1, help="held-out fraction (default: 0.1)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the split, the head and the batches")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto: bfloat16 where the hardware runs it natively, else float32")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow a model to run code from its repository (only for models you trust)")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickle weights (pytorch_model.bin)")
    p.add_argument("--overwrite", action="store_true", help="replace a model already in --out")
    g = p.add_argument_group("training dynamics (clsmap dynamics OUT draws them)")
    g.add_argument("--map-every", metavar="N|epoch",
                   help="record the [CLS] vectors and logits of a probe set (the validation rows and up to "
                        "--map-train-rows training rows) before training and every N steps, or every epoch, "
                        "into OUT/dynamics (default: off)")
    g.add_argument("--map-train-rows", type=int,
                   help="training rows in the probe set, besides the validation rows (default: 1000, and at most "
                        "a quarter of the training rows)")
    g.add_argument("--keep-checkpoints", action="store_true",
                   help="also save the weights at every snapshot in OUT/checkpoints/step-N")

    p = add("dynamics", "map a training run's dynamics: aligned maps per step, curves, cartography, player, GIF",
            "clsmap dynamics my-classifier -o dynamics_view")
    p.add_argument("run", help="training output folder recorded with clsmap train --map-every (or its dynamics store)")
    p.add_argument("-o", "--out", required=True, help="folder for player.html, dynamics.gif (.mp4) and dynamics.json")
    p.add_argument("--seed", type=int, default=0, help="random seed of the maps and the probes (default: 0)")
    p.add_argument("--max-text-chars", type=int, default=200,
                   help="cut texts longer than this many characters in the player (default: 200; 0: keep whole)")
    p.add_argument("--theme", default="auto", choices=["auto", "light", "dark"], help="initial theme of the player")
    p.add_argument("--max-rows", type=int, default=20_000,
                   help="the most texts of a snapshot mapped (a random sample above; curves and cartography use all)")
    p.add_argument("--no-animation", action="store_true", help="skip the GIF/MP4")

    p = add("demo", "fine-tune all-MiniLM-L6-v2 on shipped WordNet data; map before and after", "clsmap demo -o demo")
    p.add_argument("-o", "--out", default="clsmap-demo", help="output folder (default: ./clsmap-demo)")
    p.add_argument("--model", help="base model folder (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int, default=2, help="passes over the training rows")
    p.add_argument("--train-rows", type=int, default=1500, help="training rows used (default: 1500)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto: bfloat16 where the hardware runs it natively, else float32")
    return parser
