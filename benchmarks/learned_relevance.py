"""Learned relevance against the hand-set score, on the held-out verdicts of a synthetic desk.

The desk: 500 judged alerts built from the synthetic beat corpus (`benchmarks/synthetic.py`),
varied so that the hand-set score has something to tell apart (20 % lose their US local actor,
as national news reads; 10 % name only China the country), each scored by the real
`enrich.relevance.score_relevance`. The desk's stated rule for its verdicts: an alert is
relevant when the article names a US local actor, a mainland Chinese place (not Taiwan, not
China the country only) and at least one of this desk's beats (sister city, agreement,
investment, legislation, termination); delegation-, education- or influence-only stories are
not its beat. 8 % of the verdicts are flipped (a desk is not consistent). 350 verdicts train the
model, 150 are held out; both scores are thresholded where they keep 95 % of the training
set's judged-relevant alerts (what `min_relevance: auto` would choose).

Run: `python benchmarks/learned_relevance.py [--n 500] [--seed 13]`; writes
benchmarks/results/learned_relevance.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.learned_relevance import compare  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402
from benchmarks.synthetic import generate_articles  # noqa: E402
from crawler.article import Article, Entity  # noqa: E402
from enrich.chain import build_context  # noqa: E402
from enrich.relevance import score_relevance  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "learned_relevance.json"
DESK_BEATS = frozenset({"sister_city", "agreement", "investment", "legislation", "termination"})
CHINA = Entity("geonames:1814991", "China", "country", "CN", kind="country", mentions=1)
NOISE = 0.08
TRAIN_SHARE = 0.7


def desk_verdict(article: Article) -> bool:
    """The synthetic desk's rule (before noise)."""
    us_local = any(e.type == "place" and e.country == "US" for e in article.entities)
    mainland = any(e.type == "place" and e.country == "CN" for e in article.entities)
    return us_local and mainland and bool(DESK_BEATS & set(article.events))


def synthetic_desk(n: int, seed: int) -> list[tuple[Article, bool]]:
    rnd = random.Random(seed)
    context = build_context()
    judged = []
    for article in generate_articles(n, seed=seed):
        roll = rnd.random()
        if roll < 0.20:  # national news: no US local actor
            article.entities = [e for e in article.entities if e.country != "US"]
        elif roll < 0.30:  # China the country only
            article.entities = [e for e in article.entities if e.country != "CN"] + [CHINA]
        article.event_spans = None
        score_relevance(article, context)
        verdict = desk_verdict(article)
        if rnd.random() < NOISE:
            verdict = not verdict
        judged.append((article, verdict))
    return judged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    judged = synthetic_desk(args.n, args.seed)
    cut = int(TRAIN_SHARE * len(judged))
    hand, learned, model = compare(judged[:cut], judged[cut:])
    relevant = sum(v for _, v in judged)
    print(f"synthetic desk: {len(judged)} judged alerts, {relevant} relevant; ", end="")
    print(f"{cut} train, {len(judged) - cut} held out")
    print(f"{'score':10} {'threshold':>9} {'precision':>9} {'recall':>7} {'kept':>5}")
    for card in (hand, learned):
        print(
            f"{card.name:10} {card.threshold:9.3f} {card.precision:9.3f} "
            f"{card.recall:7.3f} {card.kept:5d}"
        )
    print("strongest learned weights:")
    for name, weight in model.explain()[:6]:
        print(f"  {name:24} {weight:+.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "n": len(judged),
                "seed": args.seed,
                "relevant": relevant,
                "train": cut,
                "held_out": len(judged) - cut,
                "hand_set": hand.to_dict(),
                "learned": learned.to_dict(),
                "weights": dict(model.explain()),
                "machine": machine_info(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
