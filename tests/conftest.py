"""Shared fixtures: tiny random models built once per session, small labeled CSV files, the stores that tests of
several stages share, and a headless chromium for the browser tests.

The tests are in one folder per stage of the pipeline (io, extraction, store, projection, analysis, training,
render), plus browser (the interactive map driven in chromium), cli and system (end to end, interruptions,
compatibility, the package's shape). Code they share that is not a test is in the ``support`` package
(tests/support); no test file imports another test file or this one.

Browser tests: a test that takes the ``browser`` fixture is marked ``browser``. Where chromium or
playwright is missing such tests are skipped, and the run ends with one line that says how many and
why; with ``CLSMAP_REQUIRE_BROWSER=1`` (as in .ci/run) each such skip is a failure instead."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Tests never reach the Hugging Face Hub: every model is built locally by support.tiny_models.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).parent))  # the support package (tests/support)

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from support import PAYLOAD  # noqa: E402
from support.explain import explain_store as build_explain_store  # noqa: E402
from support.tiny_models import CLASSES, build_model, labeled_csv_file, make_texts  # noqa: E402
from support.viewer_browser import BrowserMissing, launch, missing_reason  # noqa: E402


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """BertForSequenceClassification with named classes ['ham', 'spam']."""
    return build_model(tmp_path_factory.mktemp("tiny_bert"), "bert", num_labels=2, id2label=CLASSES)


@pytest.fixture(scope="session")
def tiny_electra(tmp_path_factory) -> Path:
    """ElectraForSequenceClassification with transformers' generic classes LABEL_0, LABEL_1."""
    return build_model(tmp_path_factory.mktemp("tiny_electra"), "electra", num_labels=2, seed=1)


@pytest.fixture(scope="session")
def tiny_bert_encoder(tmp_path_factory) -> Path:
    """A bare BertModel (with its pooler), no classification head."""
    return build_model(tmp_path_factory.mktemp("tiny_bert_encoder"), "bert", num_labels=None, seed=2)


@pytest.fixture
def labeled_csv(tmp_path):
    """Factory: ``labeled_csv(n=40, seed=0, name='data.csv', ...)`` writes a CSV with columns
    ``text`` and ``label`` ('ham'/'spam', alternating) in the test's folder and returns its path
    (:func:`support.tiny_models.labeled_csv_file`)."""

    def make(n: int = 40, **options) -> Path:
        return labeled_csv_file(tmp_path, n, **options)

    return make


@pytest.fixture(scope="session")
def layered_store(tiny_bert, tmp_path_factory):
    """A 60-row store of the tiny BERT with every layer, maps of every layer, and :data:`support.PAYLOAD`
    in some texts and ids (analysed by tests/analysis/test_analyze.py, reported by tests/render/test_report.py)."""
    import clsmap

    folder = tmp_path_factory.mktemp("layered")
    texts = make_texts(60, seed=3)
    texts[5] = PAYLOAD + " the cat"
    texts[17] = "free money " + PAYLOAD
    frame = pd.DataFrame({"id": [f"doc{i}" for i in range(60)], "text": texts,
                          "label": ["ham" if i % 3 else "spam" for i in range(60)]})
    frame.loc[9, "id"] = PAYLOAD
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    store = clsmap.extract(tiny_bert, data, folder / "store", layer="all", dtype="float32", progress=False)
    clsmap.project(store, method="pca", column="all")
    return store


@pytest.fixture(scope="session")
def explain_store(tmp_path_factory):
    """(store, analysis, hot): :func:`support.explain.explain_store`, built once for the analysis, render and
    browser tests of what explains a point and a region."""
    return build_explain_store(tmp_path_factory.mktemp("explain") / "store")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The developers' shared datasets (beside the checkout); tests that need them skip elsewhere."""
    folder = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not folder.is_dir():
        pytest.skip("needs ../shared/data beside the checkout")
    return folder


# --------------------------------------------------------------------------- browser tests

REQUIRE_BROWSER = os.environ.get("CLSMAP_REQUIRE_BROWSER", "") not in ("", "0")


@pytest.fixture(scope="module")
def browser():
    """A headless chromium context (``support.viewer_browser.launch``), one per test module."""
    try:
        with launch() as context:
            yield context
    except BrowserMissing as exc:
        pytest.skip(str(exc))


#: the files whose tests take longest (training, a Ray instance, numba's first compilations, runs killed in a
#: subprocess): they start first, so that a run on several workers (-n) does not end with one of them alone
FIRST = ("training/test_dynamics.py", "extraction/test_ray.py", "cli/test_cli.py", "projection/test_reducers.py",
         "analysis/test_analysis.py", "analysis/test_probe.py", "system/test_interrupt.py", "system/test_kill9.py")
TESTS = Path(__file__).resolve().parent


def _start_rank(item) -> int:
    try:
        path = Path(item.path).resolve().relative_to(TESTS).as_posix()
    except ValueError:  # a test outside tests/ (test_browser_skips runs one)
        return len(FIRST)
    return FIRST.index(path) if path in FIRST else len(FIRST)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    items.sort(key=_start_rank)  # stable: every other file keeps its place


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")


def _is_browser_skip(report) -> bool:
    if not report.skipped or hasattr(report, "wasxfail"):
        return False
    reason = _skip_reason(report)
    missing = missing_reason()
    # marked (the browser fixture) or skipped for the reason launch() gives (a test that calls it itself)
    # a collection report (a module-level skip) has no keywords
    return "browser" in getattr(report, "keywords", {}) or (missing is not None and missing in reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _is_browser_skip(report):
        if REQUIRE_BROWSER:
            report.outcome = "failed"
            report.longrepr = f"CLSMAP_REQUIRE_BROWSER is set and this browser test was skipped: {_skip_reason(report)}"
        else:  # one line for them all in -ra's list of skips
            report.longrepr = (__file__, None, _skip_reason(report))
    return report


def pytest_unconfigure(config):
    """After pytest's own summary: one line when browser tests were skipped."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = [r for r in reporter.stats.get("skipped", []) if _is_browser_skip(r)]
    if skipped:
        reasons = sorted({_skip_reason(r) for r in skipped})
        reporter.write_line(f"browser tests: {len(skipped)} skipped: {'; '.join(reasons)}", yellow=True, bold=True)
