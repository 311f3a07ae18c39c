"""What each ``clsmap`` command does with its arguments."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from .._errors import ClsmapError

__all__ = ["run", "HANDLERS"]

logger = logging.getLogger("clsmap")


def _dataset(args: argparse.Namespace) -> Any:
    from ..io import read_dataset

    return read_dataset(
        args.data,
        text_column=args.text_column,
        label_column=False if getattr(args, "no_labels", False) else args.label_column,
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


def _map_every(value: str | None) -> int | str | None:
    if value is None or value == "epoch":
        return value
    try:
        steps = int(value)
    except ValueError:
        steps = 0
    if steps < 1:
        raise ClsmapError(f"--map-every {value!r}: give a number of steps (>= 1) or 'epoch'")
    return steps


def _do_extract(args: argparse.Namespace) -> Any:
    from ..extraction import extract

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
        args.model, args.data if len(args.data) > 1 else args.data[0], args.out, layer=_layer(args.layer),
        module=args.module,
        pooling=args.pooling, max_length=args.max_length, batch_tokens=args.batch_tokens,
        device=args.device, dtype=args.dtype, quantize=args.quantize, overwrite=args.overwrite,
        trust_remote_code=args.trust_remote_code, allow_pickle=args.allow_pickle, text_column=args.text_column,
        label_column=False if args.no_labels else args.label_column,
        id_column=False if args.no_ids else args.id_column, split_column=args.split_column, format=args.format,
        encoding=args.encoding, backend=args.backend, **backend_options,
    )


def _do_project(store: Any, args: argparse.Namespace, column: str | None = None) -> None:
    from ..projection import project

    params = {"n_neighbors": args.n_neighbors} if args.n_neighbors else {}
    if params and args.method in ("tsne", "pca"):
        raise ClsmapError(f"--n-neighbors does not apply to --method {args.method}")
    project(store, method=args.method, column=column, seed=args.seed, max_fit=args.max_fit or None, **params)


def _max_text_chars(value: int | None) -> int | None:
    """``--max-text-chars``: a number of characters, or ``None`` for 0 (keep texts whole)."""
    if value is not None and value < 0:
        raise ClsmapError(f"--max-text-chars {value}: give a positive number, or 0 to keep texts whole")
    return value or None


def _extract_command(args: argparse.Namespace) -> None:
    _do_extract(args)  # logs the rows written and where


def _map_command(args: argparse.Namespace) -> None:
    from ..analysis import analyze
    from ..render import plot, report, write_map

    store = _do_extract(args)
    _do_project(store, args)
    analysis = analyze(store, seed=args.seed)
    # each writer logs the files it wrote
    plot(store)
    write_map(store)
    report(store, analysis=analysis)


def _view_command(args: argparse.Namespace) -> None:
    from ..render import write_map

    max_chars = _max_text_chars(args.max_text_chars)
    if args.neighbours is not None and args.neighbours < 0:
        raise ClsmapError(f"--neighbours {args.neighbours}: give a number of neighbours, or 0 for none")
    write_map(args.store, args.out, column=args.column, max_text_chars=max_chars, theme=args.theme,
              title=args.title, neighbours=args.neighbours)


def _analyze_command(args: argparse.Namespace) -> None:
    from ..analysis import analyze

    _print_analysis(analyze(args.store, column=args.column, k=args.k, probs=args.probs, seed=args.seed), args.top)


def _report_command(args: argparse.Namespace) -> None:
    from ..render import report

    report(args.store, args.out, column=args.column, probs=args.probs, top=args.top, seed=args.seed)


def _export_command(args: argparse.Namespace) -> None:
    from ..render import export

    export(args.store, args.out, to=args.to, column=args.column)  # logs what it wrote


def _project_command(args: argparse.Namespace) -> None:
    _do_project(args.store, args, args.column)


def _plot_command(args: argparse.Namespace) -> None:
    from ..render import plot

    plot(args.store, args.out, column=args.column, title=args.title, split=args.split)


def _compare_command(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ..analysis import compare
    from ..render import write_compare

    max_chars = _max_text_chars(args.max_text_chars)
    result = compare(args.store_a, args.store_b, column_a=args.column_a, column_b=args.column_b, k=args.k,
                     alignment=args.alignment, seed=args.seed)
    write_compare(result, args.out or Path(args.store_b) / "compare.html", max_text_chars=max_chars, top=args.top)
    s = result.summary
    logger.info("%d texts: %d fixed, %d broken, %d still wrong, %d still right; moved (1 - Jaccard of the "
                "%d-NN sets) mean %.3f; maps aligned by %s", s["n_rows"], s["n_fixed"], s["n_broken"],
                s["n_still_wrong"], s["n_still_right"], s["k"], s["moved_mean"], result.alignment["chosen"])


def _train_command(args: argparse.Namespace) -> None:
    from ..training import train

    result = train(
        args.model, _dataset(args), args.out, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, max_length=args.max_length, validation=args.validation,
        seed=args.seed, device=args.device, dtype=args.dtype, overwrite=args.overwrite,
        trust_remote_code=args.trust_remote_code, allow_pickle=args.allow_pickle,
        map_every=_map_every(args.map_every), map_train_rows=args.map_train_rows,
        keep_checkpoints=args.keep_checkpoints,
    )
    acc = "n/a" if result.val_accuracy is None else f"{result.val_accuracy:.3f} (epoch {result.best_epoch})"
    logger.info("validation accuracy %s; model saved to %s", acc, result.path)
    if result.dynamics:
        logger.info("training dynamics: %s; draw them with: clsmap dynamics %s -o %s",
                    result.dynamics["path"], result.path, result.path / "dynamics_view")
    if result.warnings:
        logger.warning("the saved model has not learned to classify: see the warnings above and %s",
                       result.path / "clsmap_train.json")


def _dynamics_command(args: argparse.Namespace) -> None:
    from ..render import write_dynamics

    summary = write_dynamics(args.run, args.out, seed=args.seed, max_text_chars=_max_text_chars(args.max_text_chars),
                             theme=args.theme, gif=not args.no_animation, max_rows=args.max_rows)
    for row in _curve_lines(summary["curves"]):
        logger.info("%s", row)
    logger.info("alignment kept: %s; player: %s", summary["alignment"]["kept"], summary["player"])


def _demo_command(args: argparse.Namespace) -> None:
    from ..demo import run_demo

    summary = run_demo(args.out, model=args.model, epochs=args.epochs, train_rows=args.train_rows, dtype=args.dtype)
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
    dynamics = summary["dynamics"]
    for row in _curve_lines(dynamics["curves"]):
        logger.info("training dynamics, %s", row)
    logger.info("training dynamics: player %s, report %s", dynamics["player"], dynamics["report"])


#: what each command does (one function per command of :data:`clsmap.cli.parser.COMMANDS`)
HANDLERS: dict[str, Callable[[argparse.Namespace], None]] = {
    "map": _map_command,
    "extract": _extract_command,
    "project": _project_command,
    "plot": _plot_command,
    "view": _view_command,
    "analyze": _analyze_command,
    "report": _report_command,
    "export": _export_command,
    "compare": _compare_command,
    "train": _train_command,
    "dynamics": _dynamics_command,
    "demo": _demo_command,
}


def run(args: argparse.Namespace) -> None:
    """Do what the command ``args.command`` says with its arguments."""
    HANDLERS[args.command](args)


def _curve_lines(curves: dict[str, list[Any]]) -> list[str]:
    """One log line per snapshot: step, epoch and the curves."""
    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return [f"step {s} (epoch {e:.2f}): accuracy {fmt(a)}, 10-NN purity {fmt(p)}, probe {fmt(q)}, silhouette {fmt(h)}"
            for s, e, a, p, q, h in zip(curves["step"], curves["epoch"], curves["accuracy"], curves["knn_purity"],
                                        curves["linear_probe_accuracy"], curves["silhouette"], strict=True)]


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict):  # step_seconds
        return ", ".join(f"{key} {seconds:.1f} s" for key, seconds in value.items())
    return str(value)


def _print_analysis(analysis: Any, top: int) -> None:
    """The analysis as plain text on stdout (the numbers are also in STORE/analysis/analysis.json)."""
    import pandas as pd

    from ..store.layout import ANALYSIS

    with pd.option_context("display.width", 160, "display.max_colwidth", 70, "display.float_format", "{:.3f}".format):
        print("\n".join(f"{k:>22}  {_plain(v)}" for k, v in analysis.summary.items() if v is not None))
        print("\nper class:\n" + analysis.per_class.to_string(index=False))
        if analysis.splits is not None:
            print("\nper split:\n" + analysis.splits.frame.to_string(index=False))
        if analysis.layers is not None:
            print("\nper layer:\n" + analysis.layers.to_string(index=False))
        if analysis.regions is not None and len(analysis.regions):
            cols = ["region_id", "n", "n_errors", "error_rate", "enrichment", "p_value", "purity", "true_label",
                    "pred_label"]
            print("\nconfusion regions:\n" + analysis.regions.frame[cols].to_string(index=False))
        if analysis.keywords is not None and len(analysis.keywords):
            words = (analysis.keywords.frame.sort_values(["kind", "group", "rank"])
                     .groupby(["kind", "group"], sort=False))
            print("\nkeywords (c-TF-IDF):\n" + "\n".join(
                f"{kind:>6} {group}: {', '.join(part['term'].head(6))}" for (kind, group), part in words))
        if analysis.label_issues is not None and top > 0:
            cols = ["rank", "id", "label", "suggested_label", "score", "flagged", "text"]
            s = analysis.summary
            verdict = s.get("flags_note") or f"{s.get('n_flagged', 0):,} flagged (listed first)"
            source = "probe" if s.get("probs_source") == "probe" else "model"
            print(f"\ntop {top} likely-mislabeled ({source} accuracy {s.get('flags_accuracy', 0):.3f}, chance "
                  f"{s.get('flags_chance', 0):.3f}; {verdict}):\n"
                  + analysis.label_issues.frame[cols].head(top).to_string(index=False))
    print(f"\nwritten: {analysis.store_path / ANALYSIS}")
