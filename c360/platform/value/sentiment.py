"""Sentiment of comments and messages (情感): a documented lexicon, not a model.

Each text scores in [-1, 1]: every lexicon word found (longest first, so 很差 is
one negative word, not 很 + 差) counts +1 or −1, times an intensifier just before
it (很, 非常 …) and flipped by a negator just before that (不, 没 …: 不满意 is
negative, 不差 positive); the sum is squashed by ``s / (|s| + 1)``. Texts are
NFKC-folded and lower-cased first.

Why a lexicon: the Chinese-capable packages are either unmaintained (SnowNLP's
last release is from 2020 and ships its own pickled model) or heavy (transformer
models need torch and a download at run time, which c360 may not do). A lexicon
is small, explainable to staff word by word and versioned like the other rules
(``sentiment.json``; its version is stored with the scores).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Lexicon", "lexicon", "mean_sentiment", "text_sentiment"]


@dataclass(frozen=True, slots=True)
class Lexicon:
    version: str
    words: dict[str, int]
    negators: tuple[str, ...]
    intensifiers: dict[str, float]


@cache
def lexicon() -> Lexicon:
    """The lexicon shipped in this package."""
    raw = json.loads(
        resources.files("c360.platform.value").joinpath("sentiment.json").read_text("utf-8")
    )
    words = {w: 1 for w in raw["positive"]}
    words.update({w: -1 for w in raw["negative"]})
    return Lexicon(
        version=str(raw["version"]),
        words=words,
        negators=tuple(sorted(raw["negators"], key=len, reverse=True)),
        intensifiers={k: float(v) for k, v in raw["intensifiers"].items()},
    )


def _before(text: str, end: int, options: Iterable[str]) -> str | None:
    for option in options:
        if text.endswith(option, 0, end):
            return option
    return None


def text_sentiment(text: str, lex: Lexicon | None = None) -> float | None:
    """The sentiment of one text in [-1, 1]; ``None`` when no lexicon word occurs."""
    lex = lex or lexicon()
    folded = unicodedata.normalize("NFKC", text or "").lower()
    if not folded.strip():
        return None
    by_length = sorted(lex.words, key=len, reverse=True)
    taken = [False] * len(folded)
    total, hits = 0.0, 0
    for word in by_length:
        start = folded.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                weight = float(lex.words[word])
                at = start
                boost = _before(folded, at, sorted(lex.intensifiers, key=len, reverse=True))
                if boost:
                    weight *= lex.intensifiers[boost]
                    at -= len(boost)
                if _before(folded, at, lex.negators):
                    weight = -weight
                total += weight
                hits += 1
            start = folded.find(word, end)
    if not hits:
        return None
    return total / (abs(total) + 1.0)


def mean_sentiment(texts: Iterable[str]) -> tuple[float | None, int]:
    """The mean sentiment over the texts that carry any, and how many did."""
    scores = [s for s in (text_sentiment(t) for t in texts) if s is not None]
    return (sum(scores) / len(scores) if scores else None), len(scores)
