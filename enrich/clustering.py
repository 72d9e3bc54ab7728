"""One story per syndicated copy: exact and near-duplicate articles share a cluster id.

Exact copies are found by a hash of the normalised text,
lightly edited ones (another intro line, other boilerplate, a trimmed ending, a traditional-
character copy) by MinHash LSH over 4-token shingles, where a token is a Latin-script word or
one CJK/kana character. The first copy seen leads the cluster; its article id is the cluster id.
The thresholds below were measured on the 181 ground-truth bodies of the Zyte extraction
benchmark, edited copies made from them, and 20 Chinese passages (see the comments).
"""

from __future__ import annotations

import hashlib
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

import numpy as np

from crawler.article import Article
from crawler.stats import Stats
from crawler.textnorm import fold

# Ideographs, kana and CJK compatibility characters are tokens on their own (no spaces to split
# on); any other run of letters/digits is a word.
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK_CHARS}]|[^\W_{_CJK_CHARS}]+")

# Shingles of 4 tokens. Jaccard similarity, exact, on the benchmark's 181 bodies: the closest
# two *different* stories (two items on the same native-ad company, two Home Depot earnings
# stories) reach 0.147 with 4-word shingles (0.137 with 5), while a copy with a new intro line
# and an agency footer has median 0.88 (5th percentile 0.67), a copy trimmed to 70% of its
# paragraphs 0.52 at the 5th percentile, one with 5% of words changed 0.62 at worst (0.57 with
# 5). On Chinese, 4-character shingles put different passages at 0.058 at most and edited
# copies at 0.60 or more; a traditional-character copy folds to 1.0.
SHINGLE_TOKENS = 4
# A copy joins a story at estimated Jaccard >= 0.4: 2.7x the closest different stories, and
# above it sit all intro/footer edits but the one-paragraph texts, 95% of 70%-trims and half of
# the 50%-trims (median 0.50). The bands below only propose candidates; the signature
# comparison decides.
SIMILARITY_THRESHOLD = 0.4
# 128 permutations: a Jaccard estimate with standard error 0.043 at 0.4, and a 513-byte
# fingerprint in the store.
NUM_PERM = 128
# LSH banding with r=2 rows per band and 32 bands: a copy at Jaccard 0.4 becomes a candidate
# with probability 1-(1-0.4^2)^32 = 0.996 (0.985 at 0.35), one at 0.15 with 0.52, unrelated
# stories (~0.01) with 0.003; candidates are then compared on all 128 values. r=3 would need
# 70 bands for the same recall at 0.4. Scanning the bands of 50,000 stories takes ~4.5 ms.
BANDS = 32
SEED = 1
# Texts shorter than this (a headline, a teaser) are never clustered: the first 10 tokens of
# different benchmark stories reach 0.27 Jaccard, the first 20 0.17, the first 40 0.07, and
# identical paywall or cookie teasers would otherwise merge unrelated stories by their hash.
MIN_TOKENS = 20
# Stories kept in memory, the oldest forgotten first. Syndicated copies appear within days; at
# the 1-3 thousand stories a day of a watch desk's feeds, 50,000 is 2-7 weeks, held in 37 MB
# (tracemalloc over 50,000 loaded rows: 739 bytes a story; loading them takes ~1 s).
MAX_STORIES = 50_000

_FINGERPRINT_VERSION = 1  # affine32 MinHash, SEED, crc32 shingle hashes, little-endian uint32

# The signature is datasketch's MinHash (2.0, scheme "affine32") computed here in numpy, value
# for value (tests/enrich/test_clustering.py compares the two): `import datasketch` pulls in
# scipy.integrate through its LSH classes, 50 MB of resident memory (355 modules, a second
# OpenBLAS) in the long-running service for three lines of arithmetic. Its permutations: odd
# `a` and any `b` from numpy's RandomState(SEED), h -> a * fmix32(h) + b mod 2^32.
_MAX_HASH = np.uint32(0xFFFFFFFF)
# MurmurHash3's 32-bit finaliser (shifts and multipliers), datasketch's pre-mix of each hash
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def minhash_permutations(
    num_perm: int = NUM_PERM, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of datasketch's affine32 permutations for `seed`, as uint32 arrays."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(hv: np.ndarray) -> np.ndarray:
    shift1, mult1, shift2, mult2 = _FMIX32
    hv = hv ^ (hv >> shift1)
    hv = hv * mult1  # uint32 multiplication wraps: the intended arithmetic mod 2^32
    hv = hv ^ (hv >> shift2)
    hv = hv * mult2
    return hv ^ (hv >> shift1)


MatchKind = Literal["new", "exact", "near", "known", "too_short"]


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where one article went: its cluster, whether it leads it, and how it was matched."""

    cluster_id: str
    is_lead: bool
    kind: MatchKind
    content_hash: str
    fingerprint: bytes | None = field(repr=False)
    similarity: float = 1.0


@dataclass(slots=True)
class _Member:
    cluster_id: str
    content_hash: str
    row: int | None  # its signature's row, None for exact copies and unsigned rows


def _shingle_hash(shingle: bytes) -> int:
    # crc32 is a fifth of sha1's cost; datasketch's affine32 scheme pre-mixes it with the
    # MurmurHash3 finaliser before permuting, so its linearity does not show in the estimates.
    return zlib.crc32(shingle)


@lru_cache(maxsize=65536)
def _fold_token(token: str) -> str:
    return token.lower() if token.isascii() else fold(token)


def tokens(text: str) -> list[str]:
    """Folded tokens of `text`: words, and single CJK/kana characters.

    Tokens are folded one by one through a cache: words repeat, and folding a whole Chinese
    text at once costs 7x more (5.3 ms against 0.75 ms for 1,700 characters, measured).
    """
    return [_fold_token(t) for t in _TOKEN.findall(text)]


def content_hash(toks: list[str]) -> str:
    """Hash of the normalised text: same words in the same order, whatever the spacing,
    punctuation, case, accents or Chinese script. Empty for an empty text."""
    if not toks:
        return ""
    return hashlib.sha1(" ".join(toks).encode("utf-8")).hexdigest()[:16]


def shingles(toks: list[str], k: int = SHINGLE_TOKENS) -> set[bytes]:
    if len(toks) <= k:
        return {" ".join(toks).encode("utf-8")} if toks else set()
    return {" ".join(toks[i : i + k]).encode("utf-8") for i in range(len(toks) - k + 1)}


def encode_fingerprint(signature: np.ndarray) -> bytes:
    """Compact bytes of a MinHash signature: a version byte, then uint32 little-endian values."""
    return bytes([_FINGERPRINT_VERSION]) + signature.astype("<u4").tobytes()


def decode_fingerprint(data: bytes | None, num_perm: int = NUM_PERM) -> np.ndarray | None:
    """The signature in `data`, or None when it is missing or of another version or size."""
    if not data or data[0] != _FINGERPRINT_VERSION or len(data) != 1 + 4 * num_perm:
        return None
    return np.frombuffer(data, dtype="<u4", offset=1).astype(np.uint32)


class StoryIndex:
    """Recent stories, to tell a new story from another copy of one already seen.

    Holds the last `max_stories` articles (the oldest is forgotten first) with their cluster,
    content hash and MinHash signature. `load` warms it from the store at start-up; `assign`
    places one article. Thread-safe.

    The signatures live in one numpy matrix; its LSH bands are the signature itself seen as
    64-bit pairs (r=2 rows, the first BANDS of them), so the index costs nothing beyond the
    512-byte signatures. datasketch's own MinHashLSH keeps ~12 KB of dicts and sets per story
    (measured: 59 MB for 5,000), which would be 600 MB for the window.
    """

    def __init__(
        self,
        *,
        max_stories: int = MAX_STORIES,
        similarity_threshold: float = SIMILARITY_THRESHOLD,
    ) -> None:
        self.max_stories = max_stories
        self.similarity_threshold = similarity_threshold
        self._perm_a, self._perm_b = minhash_permutations()
        self._members: OrderedDict[str, _Member] = OrderedDict()
        self._by_hash: dict[str, str] = {}  # content hash -> the first member that had it
        # signature rows; a row is live while its member is in the index
        self._sigs = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._live = np.zeros(0, dtype=bool)
        self._row_ids: list[str | None] = []
        self._free_rows: list[int] = []
        self._rows_used = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._members

    def signature(self, toks: list[str]) -> np.ndarray:
        """MinHash signature (uint32 per permutation) of the token list's shingles; all
        0xFFFFFFFF for no shingles, like an empty datasketch MinHash."""
        hashed = [_shingle_hash(s) for s in shingles(toks)]
        if not hashed:
            return np.full(NUM_PERM, _MAX_HASH, dtype=np.uint32)
        hv = _fmix32(np.array(hashed, dtype=np.uint32).reshape(-1, 1))
        return (hv * self._perm_a + self._perm_b).min(axis=0)

    # -- rows and members -------------------------------------------------------------------

    def _take_row(self, article_id: str, signature: np.ndarray) -> int:
        if self._free_rows:
            row = self._free_rows.pop()
        else:
            if self._rows_used == len(self._sigs):  # grow by doubling, up to the window
                # +1: a member is added before the oldest is evicted
                size = min(max(1024, 2 * len(self._sigs)), self.max_stories + 1)
                sigs = np.zeros((size, NUM_PERM), dtype=np.uint32)
                sigs[: self._rows_used] = self._sigs[: self._rows_used]
                live = np.zeros(size, dtype=bool)
                live[: self._rows_used] = self._live[: self._rows_used]
                self._sigs, self._live = sigs, live
                self._row_ids.extend([None] * (size - len(self._row_ids)))
            row = self._rows_used
            self._rows_used += 1
        self._sigs[row] = signature
        self._live[row] = True
        self._row_ids[row] = article_id
        return row

    def _add(
        self, article_id: str, cluster_id: str, chash: str, signature: np.ndarray | None
    ) -> None:
        row = self._take_row(article_id, signature) if signature is not None else None
        self._members[article_id] = _Member(cluster_id, chash, row)
        if chash:
            self._by_hash.setdefault(chash, article_id)
        while len(self._members) > self.max_stories:
            self._evict()

    def _evict(self) -> None:
        old_id, old = self._members.popitem(last=False)
        if old.content_hash and self._by_hash.get(old.content_hash) == old_id:
            del self._by_hash[old.content_hash]
        if old.row is not None:
            self._live[old.row] = False
            self._row_ids[old.row] = None
            self._free_rows.append(old.row)

    def load(self, rows: Iterable[tuple[str, str | None, str | None, bytes | None]]) -> int:
        """Warm the index from stored `(article_id, cluster_id, content_hash, fingerprint)` rows,
        oldest first; returns how many were taken. Rows with a missing or foreign fingerprint
        still count for exact duplicates."""
        n = 0
        with self._lock:
            for article_id, cluster_id, chash, fingerprint in rows:
                if article_id in self._members:
                    continue
                signature = decode_fingerprint(fingerprint)
                if chash and chash in self._by_hash:
                    signature = None  # its twin already stands for it among the signatures
                self._add(article_id, cluster_id or article_id, chash or "", signature)
                n += 1
        return n

    def _best_candidate(self, signature: np.ndarray) -> tuple[str, float] | None:
        used = self._rows_used
        if not used:
            return None
        bands = self._sigs[:used].view(np.uint64)[:, :BANDS]
        hits = (bands == signature.view(np.uint64)[:BANDS]).any(axis=1)
        rows = np.flatnonzero(hits & self._live[:used])
        if not len(rows):
            return None
        agree = np.count_nonzero(self._sigs[rows] == signature, axis=1)
        best = int(np.argmax(agree))
        similarity = float(agree[best]) / NUM_PERM
        if similarity < self.similarity_threshold:
            return None
        article_id = self._row_ids[int(rows[best])]
        return (article_id, similarity) if article_id is not None else None

    def assign(self, article_id: str, text: str) -> StoryAssignment:
        """Place one article: an exact copy, a near copy, a new story, or one seen before.

        An article already in the index (re-fetched, updated) keeps its cluster. Texts under
        `MIN_TOKENS` tokens get a hash and lead a cluster of their own, unindexed.
        """
        toks = tokens(text)
        chash = content_hash(toks)
        signature = self.signature(toks) if len(toks) >= MIN_TOKENS else None
        fingerprint = encode_fingerprint(signature) if signature is not None else None
        with self._lock:
            known = self._members.get(article_id)
            if known is not None:
                lead = known.cluster_id == article_id
                return StoryAssignment(known.cluster_id, lead, "known", chash, fingerprint)
            if signature is None:
                return StoryAssignment(article_id, True, "too_short", chash, None)
            twin = self._by_hash.get(chash)
            if twin is not None:
                cluster_id = self._members[twin].cluster_id
                self._add(article_id, cluster_id, chash, None)
                return StoryAssignment(cluster_id, False, "exact", chash, fingerprint)
            best = self._best_candidate(signature)
            if best is not None:
                cluster_id = self._members[best[0]].cluster_id
                self._add(article_id, cluster_id, chash, signature)
                return StoryAssignment(cluster_id, False, "near", chash, fingerprint, best[1])
            self._add(article_id, article_id, chash, signature)
            return StoryAssignment(article_id, True, "new", chash, fingerprint)


class StoryContext(Protocol):
    """The parts of the enrichment context the story step reads.

    A protocol rather than `enrich.context.EnrichContext` itself, which names this module's
    resource: the context module then imports the steps' modules and none of them imports it.
    """

    stories: StoryIndex
    stats: Stats


def cluster_story(article: Article, context: StoryContext) -> None:
    """Chain step: `content_hash`, `fingerprint`, `cluster_id`, `is_cluster_lead` from the text.

    Counts `cluster/new`, `cluster/exact`, `cluster/near`, `cluster/known` or `cluster/too_short`.
    """
    placed = context.stories.assign(article.id, article.text)
    article.content_hash = placed.content_hash
    article.fingerprint = placed.fingerprint
    article.cluster_id = placed.cluster_id
    article.is_cluster_lead = placed.is_lead
    context.stats.inc(f"cluster/{placed.kind}")
