"""Time to parse and lint 1,000 generated documents (issue: foundation; target < 3 s)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_corpus

from kbserver.content import Corpus, lint_corpus

RUNS = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        docs = write_corpus(Path(tmp), 1000)
        words = sum(len(text.split()) for _, text in docs)
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            corpus = Corpus.from_directory(Path(tmp))
            findings = lint_corpus(corpus, date(2026, 11, 23))
            times.append(time.perf_counter() - started)
        errors = sum(f.severity == "error" for f in findings)
    print(f"parse+lint 1,000 documents ({words / 1000:.0f} words each on average), {RUNS} runs:")
    print(f"  median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s")
    print(f"  target < 3 s: {'met' if statistics.median(times) < 3 else 'NOT met'}; {errors} lint errors")


if __name__ == "__main__":
    main()
