"""Relevance that learns from the desk (opt-in): a logistic regression over the features the
hand-set score (`enrich/relevance.py`) computes, fitted to the desk's verdicts.

The hand-set score adds fixed weights for a US local actor, a Chinese actor, an exchange and a
tie in one passage, capped by penalties (no local actor, China only in boilerplate, a partner
elsewhere). A desk has its own taste (one follows legislation and ignores Confucius Institute
news), which no fixed weight knows. The features here are those components and penalties, read
back from the reasons the score wrote on each article, plus one indicator per exchange kind
and the language; the model is plain numpy (Newton's method with an L2 penalty: 20 features,
hundreds of verdicts, a few milliseconds), so no new dependency.

`threshold_keeping` is the `min_relevance` that keeps a share (95 %) of the judged-relevant
alerts; `compare` measures learned against hand-set on held-out verdicts in the same run
(`benchmarks/learned_relevance.py` reports it).

Opt-in (`relevance: {learned: true}`): `refit` fits the desk's model from the store's verdicts
(the service runs it every `relevance.refit_every`), `save_model`/`load_model` keep it beside
the store, and `rescore` puts its score in `article.relevance`, the hand-set score kept in the
reasons (`hand_set_score` reads it back, so later fits and figures still compare against it).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from crawler.article import Article
from crawler.dates import iso, utcnow
from crawler.query.syntax import EVENT_LABELS
from crawler.storage import Store

# The reason lines `enrich.relevance.score_relevance` writes, and the feature each one marks
# (tests/alerts/test_learned_relevance.py checks them against the real score).
REASON_FEATURES: tuple[tuple[str, str], ...] = (
    ("US local actor", "us_local"),
    ("Chinese actor:", "cn_specific"),
    ("China named (country only)", "cn_country"),
    ("exchange:", "exchange"),
    ("tied in one passage", "tie"),
    ("no Chinese actor", "no_china"),
    ("China only in closing boilerplate", "boilerplate"),
    ("no US state, county, city", "no_us_local"),
    ("partner is elsewhere", "partner_elsewhere"),
)
# A model saved with another list of kinds is refused on load (`features` differ) and refit.
EVENT_KINDS: tuple[str, ...] = EVENT_LABELS
FEATURES: tuple[str, ...] = (
    *(name for _, name in REASON_FEATURES),
    *(f"event:{kind}" for kind in EVENT_KINDS),
    "language:zh",
)
# The share of judged-relevant alerts `min_relevance: auto` keeps (the 95 %).
KEEP_RELEVANT = 0.95
# L2 penalty: with a few hundred verdicts, a weight needs about ten consistent verdicts to
# move far from zero; keeps a kind seen twice from deciding anything.
L2 = 1.0
NEWTON_STEPS = 25


def features(article: Article) -> np.ndarray:
    """The article's feature vector (FEATURES order, 0/1 each)."""
    found = {
        name
        for reason in article.relevance_reasons
        for marker, name in REASON_FEATURES
        if marker in reason
    }
    row = [1.0 if name in found else 0.0 for _, name in REASON_FEATURES]
    row += [1.0 if kind in article.events else 0.0 for kind in EVENT_KINDS]
    row.append(1.0 if (article.language or "").startswith("zh") else 0.0)
    return np.array(row)


@dataclass(frozen=True, slots=True)
class LearnedRelevance:
    """A fitted model: one weight per feature and a bias; `score` is a probability."""

    weights: np.ndarray
    bias: float

    def score(self, article: Article) -> float:
        return float(_sigmoid(features(article) @ self.weights + self.bias))

    def scores(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(x @ self.weights + self.bias)

    def explain(self) -> list[tuple[str, float]]:
        """(feature, weight), strongest first: what the desk's verdicts taught it."""
        pairs = zip(FEATURES, self.weights.tolist(), strict=True)
        return sorted(pairs, key=lambda p: -abs(p[1]))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> LearnedRelevance:
    """Logistic regression by Newton's method with an L2 penalty (the bias unpenalised).
    Raises ValueError without both relevant and not-relevant verdicts."""
    if x.ndim != 2 or len(x) != len(y) or not len(y):
        raise ValueError("fit needs one feature row per verdict")
    if y.min() == y.max():
        raise ValueError("fit needs both relevant and not-relevant verdicts")
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(NEWTON_STEPS):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(beta)), gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return LearnedRelevance(beta[:-1], float(beta[-1]))


def threshold_keeping(relevant_scores: Sequence[float], share: float = KEEP_RELEVANT) -> float:
    """The highest threshold that keeps at least `share` of the judged-relevant scores
    (score >= threshold). 0.0 without any."""
    ordered = sorted(relevant_scores, reverse=True)
    if not ordered:
        return 0.0
    keep = max(1, math.ceil(share * len(ordered)))
    return float(ordered[keep - 1])


@dataclass(frozen=True, slots=True)
class Scorecard:
    """Precision and recall of one score at one threshold on held-out verdicts."""

    name: str
    threshold: float
    precision: float
    recall: float
    kept: int

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "name": self.name,
            "threshold": round(self.threshold, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "kept": self.kept,
        }


def scorecard(name: str, scores: np.ndarray, y: np.ndarray, threshold: float) -> Scorecard:
    kept = scores >= threshold
    tp = int((kept & (y == 1)).sum())
    precision = tp / int(kept.sum()) if kept.any() else 0.0
    recall = tp / int((y == 1).sum()) if (y == 1).any() else 0.0
    return Scorecard(name, threshold, precision, recall, int(kept.sum()))


def compare(
    train: Sequence[tuple[Article, bool]], held_out: Sequence[tuple[Article, bool]]
) -> tuple[Scorecard, Scorecard, LearnedRelevance]:
    """Fit on `train` verdicts, then score `held_out` with the hand-set relevance and the
    learned one, each at the threshold keeping KEEP_RELEVANT of the training set's judged
    relevant (what `min_relevance: auto` would pick). Returns (hand-set, learned, model)."""
    x_train = np.array([features(a) for a, _ in train])
    y_train = np.array([1.0 if relevant else 0.0 for _, relevant in train])
    model = fit(x_train, y_train)
    x_test = np.array([features(a) for a, _ in held_out])
    y_test = np.array([1.0 if relevant else 0.0 for _, relevant in held_out])
    hand_train = np.array([hand_set_score(a) for a, _ in train])
    hand_threshold = threshold_keeping(hand_train[y_train == 1].tolist())
    learned_threshold = threshold_keeping(model.scores(x_train)[y_train == 1].tolist())
    hand = scorecard(
        "hand-set", np.array([hand_set_score(a) for a, _ in held_out]), y_test, hand_threshold
    )
    learned = scorecard("learned", model.scores(x_test), y_test, learned_threshold)
    return hand, learned, model


# -- the desk's model in the service -----------------------------------------------------------

# The reason line `rescore` writes; it carries the hand-set score and no feature marker.
LEARNED_MARK = "learned from the desk's verdicts:"
_HAND_SET = re.compile(r"\(hand-set score ([0-9.]+)\)")
# Below this many judged articles a refit keeps the model in force: with the L2 penalty a weight
# needs about ten consistent verdicts to move (see L2), 20 features want a few hundred, and 100
# leaves 30 held out, the fewest from which a precision or recall says anything.
MIN_VERDICTS = 100
# The share of verdicts held out for the figures of each refit, as the benchmark's 150 of 500.
HELD_OUT_SHARE = 0.3


def hand_set_score(article: Article) -> float:
    """The hand-set score (`enrich.relevance`), also of an article `rescore` scored."""
    for reason in article.relevance_reasons:
        if reason.startswith(LEARNED_MARK) and (found := _HAND_SET.search(reason)):
            return float(found.group(1))
    return article.relevance


def rescore(article: Article, model: LearnedRelevance) -> None:
    """Put the learned score in `article.relevance`, with one reason line saying so and
    keeping the hand-set score (scoring again replaces that line)."""
    hand = hand_set_score(article)
    reasons = [r for r in article.relevance_reasons if not r.startswith(LEARNED_MARK)]
    article.relevance_reasons = reasons
    learned = round(model.score(article), 4)
    article.relevance = learned
    article.relevance_reasons = [*reasons, f"{LEARNED_MARK} {learned:.2f} (hand-set score {hand})"]


@dataclass(frozen=True, slots=True)
class Refit:
    """One fit of the desk's model, with its figures on the held-out verdicts."""

    model: LearnedRelevance
    train: int
    held_out: int
    hand: Scorecard
    learned: Scorecard
    fitted_at: datetime

    def summary(self) -> str:
        """The fit's size and held-out figures, learned beside hand-set, in one line."""
        return (
            f"verdicts={self.train + self.held_out} train={self.train} "
            f"held_out={self.held_out} learned precision={self.learned.precision:.2f} "
            f"recall={self.learned.recall:.2f} hand-set precision={self.hand.precision:.2f} "
            f"recall={self.hand.recall:.2f}"
        )


def desk_verdicts(store: Store) -> list[tuple[Article, bool]]:
    """Each judged article once, relevant or not by its latest judged alert (an article
    judged on two watchlists counts by the later alert), oldest first."""
    latest: dict[str, bool] = {}
    for verdict in store.judged_alerts():  # oldest alert first: later ones win
        latest.pop(verdict.article_id, None)
        latest[verdict.article_id] = verdict.verdict == "relevant"
    out = []
    for article_id, relevant in latest.items():
        article = store.get_article(article_id)
        if article is not None:
            out.append((article, relevant))
    return out


def _held_out(article_id: str) -> bool:
    # by a hash of the id, not by position: the same verdict stays on its side across refits
    digest = hashlib.sha256(article_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < HELD_OUT_SHARE * 1000


def refit(judged: Sequence[tuple[Article, bool]], now: datetime | None = None) -> Refit:
    """Fit the desk's model on the verdicts not held out and measure it, beside the hand-set
    score, on those held out (`compare`). Raises ValueError, saying why, with fewer than
    MIN_VERDICTS or without both relevant and not-relevant verdicts on each side."""
    if len(judged) < MIN_VERDICTS:
        raise ValueError(f"{len(judged)} judged article(s), {MIN_VERDICTS} needed")
    held = [j for j in judged if _held_out(j[0].id)]
    train = [j for j in judged if not _held_out(j[0].id)]
    for name, part in (("training", train), ("held-out", held)):
        if len({relevant for _, relevant in part}) < 2:
            raise ValueError(f"the {name} verdicts need both relevant and not relevant")
    hand, learned, model = compare(train, held)
    return Refit(model, len(train), len(held), hand, learned, now or utcnow())


def model_path(store_path: str | Path) -> Path | None:
    """Where the desk's model is kept: beside the database file (none for `:memory:`)."""
    if str(store_path) == ":memory:":
        return None
    db = Path(store_path)
    return db.with_name(db.name + ".learned.json")


def save_model(path: Path, fitted: Refit) -> None:
    """Write the model and its figures as JSON, atomically (a crash leaves the old file)."""
    doc = {
        "features": list(FEATURES),
        "weights": [round(w, 6) for w in fitted.model.weights.tolist()],
        "bias": round(fitted.model.bias, 6),
        "fitted_at": iso(fitted.fitted_at),
        "train": fitted.train,
        "held_out": fitted.held_out,
        "hand_set": fitted.hand.to_dict(),
        "learned": fitted.learned.to_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_model(path: Path) -> LearnedRelevance | None:
    """The saved model, or None when there is none yet. Raises ValueError naming the file
    when it is unreadable or was fitted on other features than this version's."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a learned relevance model ({exc})") from None
    if not isinstance(doc, dict) or doc.get("features") != list(FEATURES):
        raise ValueError(f"{path}: features: fitted on other features than this version's")
    weights = doc.get("weights")
    if not isinstance(weights, list) or len(weights) != len(FEATURES):
        raise ValueError(f"{path}: weights: expected {len(FEATURES)} numbers")
    try:
        return LearnedRelevance(np.array([float(w) for w in weights]), float(doc["bias"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: weights/bias: expected numbers") from None
