"""The article's language and its folded matching text: the only module importing py3langid.

Measured on 100 labelled texts (the 98-page trafilatura sample as extracted by watchdesk, minus one
page in a broken charset, plus the three seeds: 81 en, 5 de, 4 es, 3 zh, 3 fr, 1 each of bn, ja,
ru, pl). Whole texts are right for every language set tried; the sets differ only on short texts:

| languages the model may answer | titles | first 20 chars | first 40 | first 80 |
| --- | --- | --- | --- | --- |
| all 140 labels (varieties folded to ISO 639-1) | 94 | 69 | 95 | 100 |
| the 114 ISO 639-1 labels (chosen) | 95 | 71 | 97 | 100 |
| 34 common news languages | 96 | 79 | 98 | 100 |

The full model also answers `wuu` (Wu Chinese) for a plain simplified-Chinese headline and
`kik`/`la` for short English ones; restricting to ISO 639-1 removes those and still labels any
other language with its own code, which the 34-language set cannot do.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

from crawler.article import Article
from crawler.textnorm import fold
from enrich.context import EnrichContext

# Below this many characters of title + text the source's configured language, when it has one,
# is trusted over the model: prefixes of 40 characters were right 97/100 times, of 80, 100/100.
SHORT_TEXT_CHARS = 80
# Only the beginning is classified: the model walks its input byte by byte in Python (a 36 KB
# page took ~80 ms whole, 1,000 characters ~2 ms), and on all 98 pages every prefix from 300
# characters up already got the whole text's label.
CLASSIFY_CHARS = 1000


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """The model (0.7 s to load), restricted to labels that are ISO 639-1 codes; loaded once.

    Built from the restricted columns directly, as `set_languages` would restrict it: that
    method keeps the full 142-label table (27 MB of float16) alive beside the restricted copy
    for a later reset, which watchdesk never does.
    """
    ptc, pc, classes, nextmove, row, output = load_model(Path(MODEL_DIR) / MODEL_FILE)
    keep = [i for i, code in enumerate(classes) if len(code) == 2 and code != "zxx"]
    return LanguageIdentifier(
        np.ascontiguousarray(ptc[:, keep]),
        np.asarray(pc)[keep],
        [classes[i] for i in keep],
        nextmove,
        output,
        norm_probs=True,
        tk_row=row,
    )


def known_languages() -> frozenset[str]:
    """Every language code an article can be tagged with (the model's ISO 639-1 labels)."""
    return frozenset(str(code) for code in _identifier().nb_classes)


def normalise_hint(hint: str | None) -> str | None:
    """`zh-Hant`, `en_US`, ` EN ` -> the ISO 639-1 primary subtag (`zh`, `en`); None if empty."""
    if not hint:
        return None
    primary = hint.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary or None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text` by the model alone; None for text without letters."""
    sample = text[:CLASSIFY_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None
    code, _confidence = _identifier().classify(sample)
    return str(code)


def choose_language(text: str, hint: str | None) -> tuple[str | None, str]:
    """(language, how) for a text and the source's configured language.

    `how` is `identified` (the model), `hint` (short text and a configured language) or
    `unknown` (nothing to go on).
    """
    hint = normalise_hint(hint)
    if hint is not None and len(text.strip()) < SHORT_TEXT_CHARS:
        return hint, "hint"
    detected = detect_language(text)
    if detected is not None:
        return detected, "identified"
    if hint is not None:
        return hint, "hint"
    return None, "unknown"


def identify_language(article: Article, context: EnrichContext) -> None:
    """Chain step: `language` from title + text, then `match_text` for every later matcher.

    `match_text` is `fold(title + "\\n" + text)` (plus `"\\n" + comments` when the options say
    comments are matched): lowercased, accent-free, traditional Chinese folded to simplified,
    with the same length as its source so offsets carry over. Counts `language/<how>`.
    """
    title_text = f"{article.title}\n{article.text}"
    article.language, how = choose_language(title_text, article.language_hint)
    context.stats.inc(f"language/{how}")
    source = title_text
    if context.options.match_comments and article.comments:
        source = f"{source}\n{article.comments}"
    article.match_text = fold(source)
