"""A fixed mix of operator queries drawn from a generated corpus: words, phrases, typos and filters."""

from __future__ import annotations

import random
import re

CLASSES = ("1 word", "2 words", "3 words", "phrase", "fuzzy", "filtered")


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    return rng.choice(
        [word[:i] + word[i + 1 :], word[:i] + "x" + word[i + 1 :], word[:i] + word[i] + word[i:]]
    )


def query_mix(docs: list[tuple[str, str]], per_class: int = 30, seed: int = 7) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    """(class, query text, filters) tuples, the same for every engine and every run."""
    rng = random.Random(seed)
    bodies = [text.split("---", 2)[2] for _, text in docs]
    words = [w for w in re.findall(r"[^\W\d_]{4,}", " ".join(bodies[:200])) if not w[-1].isdigit()]
    mix = []
    for _ in range(per_class):
        mix.append(("1 word", rng.choice(words), {}))
        mix.append(("2 words", " ".join(rng.sample(words, 2)), {}))
        mix.append(("3 words", " ".join(rng.sample(words, 3)), {}))
        tokens = re.findall(r"[^\W\d_]{3,}", rng.choice(bodies))
        start = rng.randrange(len(tokens) - 2)
        mix.append(("phrase", '"' + " ".join(tokens[start : start + 2]) + '"', {}))
        long_words = [w for w in words if len(w) >= 6]
        mix.append(("fuzzy", _typo(rng, rng.choice(long_words)), {}))
        mix.append(("filtered", " ".join(rng.sample(words, 2)), {"lang": [rng.choice(["es", "en"])]}))
    return mix
