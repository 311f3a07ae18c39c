"""The ``clsmap`` command. The only place that configures logging.

User mistakes end with a one-line error and exit status 2; Ctrl-C leaves a resumable store
and exits with 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from ._errors import ClsmapError
from ._version import __version__

logger = logging.getLogger("clsmap")

EPILOG = """\
examples:
  clsmap demo                                        fine-tune MiniLM on shipped WordNet data and map it
  clsmap map ./my-classifier reviews.csv -o out      extract -> project -> figure in one go
  clsmap extract ./model data.jsonl -o out --layer all --pooling mean
  clsmap extract ./kcelectra data.csv -o out --module electra.encoder.layer[-1].output.LayerNorm
  clsmap extract /models/clf s3://bucket/texts.parquet -o out --backend ray --ray-address auto
  clsmap project out --method umap
  clsmap plot out
  clsmap view out -o map.html                        the interactive map: one offline HTML file
  clsmap analyze out                                 metrics, confusion regions, likely-mislabeled texts
  clsmap report out -o report.html                   one offline HTML page with all of it
  clsmap train bert-base-uncased train.csv -o my-classifier --epochs 3
"""


def _data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--text-column", help="column with the texts (default: text, sentence, ... auto-detected)")
    g.add_argument("--label-column", help="column with the labels (default: label, target, ... auto-detected)")
    g.add_argument("--no-labels", action="store_true", help="ignore labels; colour the map by prediction")
    g.add_argument("--id-column", help="column with unique row ids (default: 'id' if present, else row numbers)")
    g.add_argument("--no-ids", action="store_true", help="number the rows even if an id column exists")
    g.add_argument("--format", default="auto", choices=["auto", "csv", "tsv", "jsonl", "parquet", "datasets"],
                   help="data format (default: by file suffix)")
    g.add_argument("--encoding", help="text encoding of CSV/TSV/JSONL files (default: UTF-8)")


def _extract_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("extraction")
    what = g.add_mutually_exclusive_group()
    what.add_argument("--layer", default=None,
                      help="hidden-state index (default -1: last layer; 0: embeddings) or 'all'")
    what.add_argument("--module", help="dotted path of a submodule to hook, e.g. encoder.layer[-1].output.LayerNorm")
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
    g.add_argument("--method", default="pacmap", choices=["pacmap", "umap", "tsne", "pca"], help="(default: pacmap)")
    g.add_argument("--seed", type=int, default=0, help="random seed of the projection (default: 0)")
    g.add_argument("--n-neighbors", type=int, help="neighbourhood size of pacmap/umap")
    g.add_argument("--max-fit", type=int, default=100_000,
                   help="fit the map on a sample of this many rows and place the others by their nearest "
                        "neighbours (default: 100000; 0 fits every row)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clsmap",
        description="Map the [CLS] vector space of a text classifier.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"clsmap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("map", "extract, project and draw in one go", "clsmap map ./my-classifier data.csv -o out")
    p.add_argument("model", help="local model folder or Hugging Face Hub id")
    p.add_argument("data", help="CSV, TSV, JSONL or Parquet file, or a datasets folder")
    p.add_argument("-o", "--out", required=True, help="output folder (the store and figures)")
    _data_options(p)
    _extract_options(p)
    _project_options(p)

    p = add("extract", "write vectors, logits and predictions to a store",
            "clsmap extract ./model data.csv -o out --layer all")
    p.add_argument("model", help="local model folder or Hugging Face Hub id")
    p.add_argument("data", help="CSV, TSV, JSONL or Parquet file, or a datasets folder")
    p.add_argument("-o", "--out", required=True, help="store folder")
    _data_options(p)
    _extract_options(p)

    p = add("project", "reduce a store's vectors to 2-D", "clsmap project out --method umap")
    p.add_argument("store", help="store folder")
    p.add_argument("--column", help="vector column to map (default: the last layer); 'all' for every layer")
    _project_options(p)

    p = add("plot", "draw a store's map as PNG and SVG", "clsmap plot out -o figures/map")
    p.add_argument("store", help="store folder")
    p.add_argument("-o", "--out", help="output path without suffix (default: STORE/map)")
    p.add_argument("--column", help="vector column whose map to draw (default: the last layer)")
    p.add_argument("--title", help="figure title")

    p = add("view", "write the interactive map: one self-contained offline HTML file",
            "clsmap view out -o map.html")
    p.add_argument("store", help="store folder")
    p.add_argument("-o", "--out", help="HTML file to write (default: STORE/map.html)")
    p.add_argument("--column", help="vector column whose map to show (default: the last layer)")
    p.add_argument("--max-text-chars", type=int, default=200,
                   help="cut texts longer than this many characters in the file (default: 200; 0: keep whole)")
    p.add_argument("--theme", default="auto", choices=["auto", "light", "dark"],
                   help="initial theme (default: the browser's preference)")
    p.add_argument("--title", help="page title")

    p = add("analyze", "measure separation, map faithfulness, confusion regions and likely-mislabeled texts",
            "clsmap analyze out --top 20")
    p.add_argument("store", help="store folder")
    p.add_argument("--column", help="vector column to analyse (default: the last layer)")
    p.add_argument("--k", type=int, default=10, help="neighbourhood size (default: 10)")
    p.add_argument("--probs", default="probe", choices=["probe", "model"],
                   help="out-of-sample probabilities for label issues: a cross-validated probe on the vectors "
                        "(default) or the model's own (only for rows held out from its training)")
    p.add_argument("--top", type=int, default=10, help="likely-mislabeled texts to list (default: 10)")
    p.add_argument("--seed", type=int, default=0)

    p = add("report", "write a self-contained offline HTML report (and report.json)",
            "clsmap report out -o report.html")
    p.add_argument("store", help="store folder")
    p.add_argument("-o", "--out", help="HTML file (default: STORE/report.html); report.json is written beside it")
    p.add_argument("--column", help="vector column to analyse (default: the last layer)")
    p.add_argument("--probs", default="probe", choices=["probe", "model"], help="as for analyze (default: probe)")
    p.add_argument("--top", type=int, default=30, help="likely-mislabeled texts to list (default: 30)")
    p.add_argument("--seed", type=int, default=0)

    p = add("train", "fine-tune a sequence classifier", "clsmap train ./base-model train.csv -o my-classifier")
    p.add_argument("model", help="base model folder or Hub id")
    p.add_argument("data", help="labeled CSV, TSV, JSONL or Parquet file")
    p.add_argument("-o", "--out", required=True, help="folder for the fine-tuned model")
    _data_options(p)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--validation", type=float, default=0.1, help="held-out fraction (default: 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickle weights (pytorch_model.bin)")
    p.add_argument("--overwrite", action="store_true", help="replace a model already in --out")

    p = add("demo", "fine-tune all-MiniLM-L6-v2 on shipped WordNet data; map before and after", "clsmap demo -o demo")
    p.add_argument("-o", "--out", default="clsmap-demo", help="output folder (default: ./clsmap-demo)")
    p.add_argument("--model", help="base model folder (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-rows", type=int, default=1500, help="training rows used (default: 1500)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    return parser


def _configure_logging(verbose: bool, quiet: bool) -> None:
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = RichHandler(show_path=verbose, show_time=False, rich_tracebacks=False, markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.setLevel(level)
    import warnings

    # transformers and pacmap warn about things the user cannot act on (pacmap: "random state is
    # set", which clsmap does on purpose); show them only with -v
    if not verbose:
        logging.getLogger("pacmap").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def _dataset(args: argparse.Namespace) -> Any:
    from .io import read_dataset

    return read_dataset(
        args.data,
        text_column=args.text_column,
        label_column=False if args.no_labels else args.label_column,
        id_column=False if args.no_ids else args.id_column,
        format=args.format,
        encoding=args.encoding,
    )


def _layer(value: str | None) -> int | str | None:
    if value is None or value == "all":
        return value
    try:
        return int(value)
    except ValueError:
        raise ClsmapError(f"--layer {value!r}: give an integer index (e.g. -1) or 'all'") from None


def _do_extract(args: argparse.Namespace) -> Any:
    from .extraction import extract

    ray_flags = {"ray_address": ("--ray-address", args.ray_address, None),
                 "num_workers": ("--num-workers", args.num_workers, None),
                 "ray_num_cpus": ("--ray-num-cpus", args.ray_num_cpus, None),
                 "gpus_per_worker": ("--gpus-per-worker", args.gpus_per_worker, 0),
                 "cpus_per_worker": ("--cpus-per-worker", args.cpus_per_worker, 1)}
    backend_options = {}
    if args.backend == "ray":
        backend_options = {name: value for name, (_, value, _) in ray_flags.items()}
    else:
        given = [flag for flag, value, default in ray_flags.values() if value != default]
        if given:
            raise ClsmapError(f"{', '.join(given)} only apply with --backend ray")
    return extract(
        args.model, args.data, args.out, layer=_layer(args.layer), module=args.module,
        pooling=args.pooling, max_length=args.max_length, batch_tokens=args.batch_tokens,
        device=args.device, dtype=args.dtype, quantize=args.quantize, overwrite=args.overwrite,
        trust_remote_code=args.trust_remote_code, allow_pickle=args.allow_pickle, text_column=args.text_column,
        label_column=False if args.no_labels else args.label_column,
        id_column=False if args.no_ids else args.id_column, format=args.format, encoding=args.encoding,
        backend=args.backend, **backend_options,
    )


def _do_project(store: Any, args: argparse.Namespace, column: str | None = None) -> None:
    from .projection import project

    params = {"n_neighbors": args.n_neighbors} if args.n_neighbors else {}
    if params and args.method in ("tsne", "pca"):
        raise ClsmapError(f"--n-neighbors does not apply to --method {args.method}")
    project(store, method=args.method, column=column, seed=args.seed, max_fit=args.max_fit or None, **params)


def run(args: argparse.Namespace) -> None:
    if args.command == "extract":
        store = _do_extract(args)
        logger.info("store: %s (%d rows)", store.path, len(store))
    elif args.command == "map":
        from .analysis import analyze
        from .render import plot, report, write_map

        store = _do_extract(args)
        _do_project(store, args)
        analysis = analyze(store, seed=args.seed)
        paths = plot(store)
        logger.info("map: %s", ", ".join(map(str, paths)))
        logger.info("interactive map: %s", write_map(store))
        logger.info("report: %s", report(store, analysis=analysis))
    elif args.command == "view":
        from .render import write_map

        max_chars = args.max_text_chars
        if max_chars is not None and max_chars < 0:
            raise ClsmapError(f"--max-text-chars {max_chars}: give a positive number, or 0 to keep texts whole")
        path = write_map(args.store, args.out, column=args.column, max_text_chars=max_chars or None,
                         theme=args.theme, title=args.title)
        logger.info("interactive map: %s", path)
    elif args.command == "analyze":
        from .analysis import analyze

        _print_analysis(analyze(args.store, column=args.column, k=args.k, probs=args.probs, seed=args.seed),
                        args.top)
    elif args.command == "report":
        from .render import report

        path = report(args.store, args.out, column=args.column, probs=args.probs, top=args.top, seed=args.seed)
        logger.info("report: %s (numbers in %s)", path, path.with_suffix(".json"))
    elif args.command == "project":
        _do_project(args.store, args, args.column)
    elif args.command == "plot":
        from .render import plot

        paths = plot(args.store, args.out, column=args.column, title=args.title)
        logger.info("map: %s", ", ".join(map(str, paths)))
    elif args.command == "train":
        from .training import train

        result = train(
            args.model, _dataset(args), args.out, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, max_length=args.max_length, validation=args.validation,
            seed=args.seed, device=args.device, dtype=args.dtype, overwrite=args.overwrite,
            trust_remote_code=args.trust_remote_code, allow_pickle=args.allow_pickle,
        )
        acc = "n/a" if result.val_accuracy is None else f"{result.val_accuracy:.3f}"
        logger.info("validation accuracy %s; model saved to %s", acc, result.path)
    elif args.command == "demo":
        from .demo import run_demo

        summary = run_demo(args.out, model=args.model, epochs=args.epochs, train_rows=args.train_rows,
                           dtype=args.dtype)
        logger.info(
            "demo done in %.0f s: held-out accuracy after fine-tuning %.3f; on the held-out [CLS] vectors, "
            "linear-probe accuracy %.3f before, %.3f after; 10-NN label purity %.3f before, %.3f after",
            summary["total_seconds"], summary["held_out_accuracy_after"],
            summary["linear_probe_accuracy_before"], summary["linear_probe_accuracy_after"],
            summary["knn10_purity_before"], summary["knn10_purity_after"],
        )
        logger.info("figure: %s; per-layer curves: %s", summary["figure"][0], summary["layers_figure"])
        for name, curve in summary["layers"].items():
            logger.info("per layer, %s fine-tuning: purity %s; probe %s", name,
                        " ".join(f"{v:.2f}" for v in curve["knn_purity"]),
                        " ".join(f"{v:.2f}" for v in curve["linear_probe_accuracy"]))
        logger.info("report: %s", summary["report"]["after"])


def _print_analysis(analysis: Any, top: int) -> None:
    """The analysis as plain text on stdout (the numbers are also in STORE/analysis/analysis.json)."""
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_colwidth", 70, "display.float_format", "{:.3f}".format):
        print("\n".join(f"{k:>22}  {v:.4f}" if isinstance(v, float) else f"{k:>22}  {v}"
                         for k, v in analysis.summary.items() if v is not None))
        print("\nper class:\n" + analysis.per_class.to_string(index=False))
        if analysis.layers is not None:
            print("\nper layer:\n" + analysis.layers.to_string(index=False))
        if analysis.regions is not None and len(analysis.regions):
            cols = ["region_id", "n", "n_errors", "error_rate", "purity", "true_label", "pred_label"]
            print("\nconfusion regions:\n" + analysis.regions[cols].to_string(index=False))
        if analysis.label_issues is not None and top > 0:
            cols = ["rank", "id", "label", "suggested_label", "score", "flagged", "text"]
            print(f"\ntop {top} likely-mislabeled:\n" + analysis.label_issues[cols].head(top).to_string(index=False))
    print(f"\nwritten: {analysis.store_path / 'analysis'}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    started = time.perf_counter()
    try:
        run(args)
    except (ClsmapError, ValueError) as exc:
        if args.verbose:
            logger.exception("failed")
        print(f"clsmap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        hint = f"; what was written in {out} is kept, and the same command resumes" if out else ""
        print(f"clsmap: interrupted{hint}", file=sys.stderr)
        return 130
    logger.debug("done in %.1f s", time.perf_counter() - started)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
