"""A gate for tests that interrupt a run in a subprocess (test code only): the run stops at a point
the test chooses, says so on stdout, and waits there until the test signals it.

``PART_GATE`` is Python source for the subprocess's ``-c`` code (or a driver script): it wraps
:meth:`clsmap.store.writer.StoreWriter.write_part` so that once the part number ``CLSMAP_TEST_GATE``
(1-based, counted in this process) is on disk, the process prints ``gate: part <index> written``
(flushed) and blocks reading stdin. The test waits for that line with :func:`wait_for_gate`, then
sends SIGINT or SIGKILL: the signal lands mid-run every time, whatever the machine's speed. Closing
stdin (or writing a line) lets the run go on.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile

GATE_PREFIX = "gate: part "

PART_GATE = f"""
import os as _os, sys as _sys
from clsmap.store import writer as _writer
_gate_at = int(_os.environ.get("CLSMAP_TEST_GATE") or 0)
_gate_seen = []
_gate_write_part = _writer.StoreWriter.write_part
def _gated_write_part(self, index, table):
    _gate_write_part(self, index, table)
    _gate_seen.append(index)
    if len(_gate_seen) == _gate_at:
        print({GATE_PREFIX!r} + str(index) + " written", flush=True)
        _sys.stdin.readline()
_writer.StoreWriter.write_part = _gated_write_part
"""


def start(args: list[str], *, gate: int | None) -> subprocess.Popen:
    """``python args...`` with stdin and stdout as pipes to the test (the gate's channel) and stderr
    to a file (a pipe could fill up while the run waits at its gate; read it with :func:`stderr`);
    ``gate`` is the part after which the run stops (None: it never stops)."""
    environ = dict(os.environ, CLSMAP_TEST_GATE=str(gate or 0))
    err = tempfile.TemporaryFile("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                            text=True, env=environ)
    proc.err_file = err
    return proc


def stderr(proc: subprocess.Popen) -> str:
    """What the process wrote to stderr so far."""
    proc.err_file.seek(0)
    return proc.err_file.read()


def read_line(proc: subprocess.Popen, *, timeout: float) -> str:
    """The next line ``proc`` writes to its stdout (a pipe): blocks until it comes, the process ends
    ('' then), or ``timeout`` s pass (the process is then killed and AssertionError raised)."""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            stop(proc)
            raise AssertionError(f"no line from the process within {timeout:.0f} s; stderr: {_err(proc)[-2000:]}")
    return proc.stdout.readline()


def wait_for_gate(proc: subprocess.Popen, *, timeout: float = 300) -> int:
    """Block until the process reports that it stopped at its gate; returns the part index it wrote
    last. Fails (AssertionError) if the process ends first or says nothing within ``timeout`` s."""
    line = read_line(proc, timeout=timeout)
    if not line.startswith(GATE_PREFIX):
        stop(proc)
        raise AssertionError(f"the run ended (exit {proc.returncode}) before its gate; stdout {line!r}, "
                             f"stderr: {stderr(proc)[-2000:]}")
    return int(line[len(GATE_PREFIX):].split()[0])


def _err(proc: subprocess.Popen) -> str:
    return stderr(proc) if hasattr(proc, "err_file") else ""


def stop(proc: subprocess.Popen) -> None:
    """End ``proc`` if it still runs and close its pipes (a test's clean-up)."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
