"""Flips each comparison of one module in turn and runs the fast tier's tests on it.

    python tests/flip_comparisons.py os4xmon/checks/certs/verdicts.py tests/test_certs_*.py

Each single comparison (``<`` to ``<=``, ``==`` to ``!=``, ``in`` to ``not in``, ``is`` to
``is not`` and back) is flipped in the file, the given tests run with ``-m unit -x``, and the
file is put back. A flip no test notices is printed: either a test is missing (a verdict or a
boundary nobody pinned down), or the flip changes nothing (``a > b`` and ``a >= b`` when both
give the same answer on equal values), or the line is I/O that the end-to-end tier covers.
docs/development.md says how the verdict modules stand. Not collected by pytest (no ``test_``
prefix); it changes the file while it runs, so commit nothing meanwhile.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FLIPS = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=",
         ast.NotEq: "==", ast.In: "not in", ast.NotIn: "in", ast.Is: "is not",
         ast.IsNot: "is"}


def sites(source: str) -> list[tuple[int, int, str, int]]:
    """(start, end, flipped operator, line) of each single comparison's operator text."""
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in FLIPS:
            left, right = node.left, node.comparators[0]
            if left.end_lineno is None or left.end_col_offset is None:
                continue
            start = offsets[left.end_lineno - 1] + left.end_col_offset
            end = offsets[right.lineno - 1] + right.col_offset
            between = source[start:end]
            if between.strip().startswith("(") or between.strip().endswith(")") \
                    or "#" in between:
                continue  # a parenthesised side: the operator is not alone between them
            found.append((start, end, FLIPS[type(node.ops[0])], node.lineno))
    return found


def main(path: Path, tests: list[str]) -> int:
    source = path.read_text()
    lines = source.splitlines()
    survivors = []
    try:
        for start, end, flipped, number in sites(source):
            between = source[start:end]
            path.write_text(source[:start] + between.replace(between.strip(), flipped)
                            + source[end:])
            run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p",
                                  "no:cacheprovider", "-m", "unit", *tests],
                                 capture_output=True, check=False, timeout=600)
            if run.returncode == 0:
                survivors.append(f"  {path}:{number}: {between.strip()} -> {flipped}: "
                                 f"{lines[number - 1].strip()}")
    finally:
        path.write_text(source)
    print(f"{path}: {len(sites(source))} comparisons, {len(survivors)} unnoticed")
    print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
