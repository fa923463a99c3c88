"""A Basic macro run in headless LibreOffice, for the tests that run VBA in its VBA mode (the
Excel client's action procedures, our stamping module).

The macro is the ``Main`` of the Standard library's ``Module1`` in a profile of its own (a
first ``--terminate_after_init`` start makes the profile: a fresh start overwrites a module put
there before). soffice starts soffice.bin and oosplash, which SIGTERM does not stop, and a
launcher that does not compile makes it hang: each start runs in its own process group,
killed when it ends or overstays."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice(what: str) -> str:
    """soffice's path; the test fails (never skips) without it: CI installs LibreOffice."""
    if not SOFFICE:
        pytest.fail(f"LibreOffice (soffice) is not installed: install libreoffice-calc-nogui "
                    f"(.ci/run does) to run {what} in its VBA mode")
    return SOFFICE


def soffice(args: list[str], profile: Path, log: Path, timeout: float) -> int:
    """soffice headless with ``profile``, its output appended to ``log``: its exit code, -1
    when it did not end within ``timeout`` seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORECOURT_", "LC_"))}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", SAL_USE_VCLPLUGIN="svp")
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [require_soffice("this test"), f"-env:UserInstallation={profile.as_uri()}",
             "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
             "--nodefault", *args],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, env=env,
            start_new_session=True)
        try:
            return proc.wait(timeout=max(timeout, 1))
        except subprocess.TimeoutExpired:
            return -1
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _xba(name: str, code: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE script:module PUBLIC '
            '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n'
            '<script:module xmlns:script="http://openoffice.org/2000/script" '
            f'script:name="{name}" script:language="StarBasic">{escape(code)}</script:module>')


def run_macro(code: str, folder: Path, log: Path, timeout: float) -> int:
    """``code`` (Basic with a ``Sub Main``) run in a new profile in ``folder``: soffice's exit
    code, -1 when the whole did not end within ``timeout`` seconds."""
    profile = folder / "profile"
    started = time.monotonic()
    made = soffice(["--terminate_after_init"], profile, log, timeout)
    standard = profile / "user" / "basic" / "Standard"
    assert made == 0 and (standard / "script.xlb").exists(), \
        f"LibreOffice did not create its profile (exit {made}): {log.read_text(errors='replace')}"
    (standard / "Module1.xba").write_text(_xba("Module1", code), encoding="utf-8")
    return soffice(["macro:///Standard.Module1.Main"], profile, log,
                   timeout - (time.monotonic() - started))
