"""Our console scripts run in the test's own process: the entry point the script calls, with the same
arguments, working directory, environment and stdin that `subprocess.run` would give it, and a
`CompletedProcess` back. A new process of ours spends about 2 s of CPU on imports (eth-account's
py_ecc, web3) before it does anything, and the CLI tests run well over a hundred commands. What only
a real process shows (the installed script, signals, long-running servers) stays tested with real
processes: the README walkthrough, the demo, `chain`, `serve` and `up`."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from click.testing import CliRunner

from attestpay_cli.main import run as attestpay_entry
from oracle.cli import run as oracle_entry


def run_in_process(
    entry: Callable[[], None],
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input: str = "",
) -> subprocess.CompletedProcess[str]:
    """`entry()` as the process `argv` would run it; `env`, as for subprocess, is the whole environment.
    An exception that escapes the entry point is printed as its traceback on stderr, as Python would."""
    overrides = None if env is None else {k: None for k in os.environ if k not in env} | dict(env)
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    with CliRunner().isolation(input=input, env=overrides) as (out, err, _):
        sys.argv = argv
        os.chdir(cwd)
        try:
            entry()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        except Exception:  # an interrupt still stops the test run
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = saved_argv
            os.chdir(saved_cwd)
            sys.stdout.flush()  # what print() wrote is still in the wrapper's buffer
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(argv, code, stdout, stderr)


def attestpay(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, input: str = ""
) -> subprocess.CompletedProcess:
    """`attestpay ARGS` in `cwd`."""
    return run_in_process(attestpay_entry, ["attestpay", *args], cwd=cwd, env=env, input=input)


def attestpay_oracle(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, input: str = ""
) -> subprocess.CompletedProcess:
    """`attestpay-oracle ARGS` in `cwd`."""
    return run_in_process(oracle_entry, ["attestpay-oracle", *args], cwd=cwd, env=env, input=input)
