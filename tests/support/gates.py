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
import queue
import subprocess
import sys
import tempfile
import threading
import time

GATE_PREFIX = "gate: part "

PART_GATE = f"""
import os as _os, signal as _signal, sys as _sys
# Ctrl-C reaches the run as it reaches a user's: a parent that ignores SIGINT (a shell's background job,
# as CI may run the suite) would otherwise hand that on to this process, and Python would keep it ignored
_signal.signal(_signal.SIGINT, _signal.default_int_handler)
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
    """The next line ``proc`` writes to its stdout (a pipe): blocks until it comes, the process closes
    its stdout ('' then), or ``timeout`` s pass (the process is then killed and AssertionError raised).
    A thread reads the pipe line by line (started on the first call), so lines that arrive together are
    each returned in turn."""
    lines = getattr(proc, "lines", None)
    if lines is None:
        lines = proc.lines = queue.Queue()

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put("")

        proc.pump = threading.Thread(target=pump, daemon=True)
        proc.pump.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        stop(proc)
        raise AssertionError(f"no line from the process within {timeout:.0f} s; stderr: {_err(proc)[-2000:]}") from None


def wait_for_gate(proc: subprocess.Popen, *, timeout: float = 300) -> int:
    """Block until the process reports that it stopped at its gate; returns the part index it wrote
    last. Other lines on its stdout (a Ray driver forwards its workers' output there) are passed over.
    Fails (AssertionError) if the process ends first or does not reach its gate within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    others = []
    while True:
        line = read_line(proc, timeout=max(0.0, deadline - time.monotonic()))
        if line.startswith(GATE_PREFIX):
            return int(line[len(GATE_PREFIX):].split()[0])
        if not line:  # the process closed its stdout: it ended
            stop(proc)
            raise AssertionError(f"the run ended (exit {proc.returncode}) before its gate; stdout: "
                                 f"{''.join(others)[-2000:]!r}; stderr: {stderr(proc)[-2000:]}")
        others.append(line)


def _err(proc: subprocess.Popen) -> str:
    return stderr(proc) if hasattr(proc, "err_file") else ""


def stop(proc: subprocess.Popen) -> None:
    """End ``proc`` if it still runs, and close its pipes (a test's clean-up)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    pump = getattr(proc, "pump", None)
    if pump is not None:
        pump.join(timeout=10)  # it ends at the end of the pipe, now that the process is gone
    if proc.stdin is not None and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except BrokenPipeError:  # a line buffered for a process that is gone
            pass
    if proc.stdout is not None and (pump is None or not pump.is_alive()):  # else the pump still reads it
        proc.stdout.close()
