"""Attention over time on Elasticsearch: stories per day or week as one aggregation.

`story_counts_body` compiles `crawler.search.attention.StoryCounts` into a search body of no
hits: the query and filters as `compile_search` compiles them, the window on the one date
basis, and a `date_histogram` with a `cardinality` of the story id in each bucket.

Two runtime fields (`runtime_mappings`, Elasticsearch 7.11+) state the rules once, where the
documents are: `watchdesk_day`, the published date or, for an undated article, the fetched one;
and `story_id`, the story (`cluster_id`, or the article's own id when it has none). One
histogram over the day field, rather than the search histogram's published-day histogram plus
the undated articles' fetch-day one (`undated_histogram`): distinct counts of two aggregations
cannot be added without counting twice a story that has a dated and an undated copy on one day.

`cardinality` is HyperLogLog: exact up to `precision_threshold` distinct stories per bucket
(40,000, the most Elasticsearch takes), an estimate within a few per cent above; no day of this
beat comes near it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from crawler.query import AliasResolver
from crawler.query.elasticsearch import compile_search
from crawler.search.attention import StoryCounts

DAY_FIELD = "watchdesk_day"
STORY_FIELD = "story_id"
PRECISION_THRESHOLD = 40_000
RUNTIME_MAPPINGS: dict[str, Any] = {
    DAY_FIELD: {
        "type": "date",
        "script": {
            "source": "if (doc['published'].size() > 0) { emit(doc['published'].value"
            ".toInstant().toEpochMilli()); } else if (doc['fetched'].size() > 0) "
            "{ emit(doc['fetched'].value.toInstant().toEpochMilli()); }"
        },
    },
    STORY_FIELD: {
        "type": "keyword",
        "script": {
            "source": "emit(doc['cluster_id'].size() > 0 ? doc['cluster_id'].value "
            ": doc['id'].value)"
        },
    },
}


def story_counts_body(request: StoryCounts, aliases: AliasResolver | None) -> dict[str, Any]:
    """The search body answering `request`: size 0, the `attention` aggregation."""
    search = compile_search(
        request.request().query_tree(), aliases=aliases, limit=0, highlight=False
    )
    window = {
        "range": {
            DAY_FIELD: {
                "gte": request.start.isoformat(),
                "lt": request.end.isoformat(),
            }
        }
    }
    return {
        "size": 0,
        "track_total_hits": False,
        "runtime_mappings": RUNTIME_MAPPINGS,
        "query": {"bool": {"must": [search["query"]], "filter": [window]}},
        "aggs": {
            "attention": {
                "date_histogram": {
                    "field": DAY_FIELD,
                    "calendar_interval": request.interval,
                    "time_zone": "UTC",
                    "min_doc_count": 1,
                    "format": "yyyy-MM-dd",
                },
                "aggs": {
                    "stories": {
                        "cardinality": {
                            "field": STORY_FIELD,
                            "precision_threshold": PRECISION_THRESHOLD,
                        }
                    }
                },
            }
        },
    }


def counts_from_response(response: dict[str, Any]) -> dict[date, int]:
    """Stories per bucket (its first day) from the answer to `story_counts_body`."""
    counts: dict[date, int] = {}
    for bucket in response.get("aggregations", {}).get("attention", {}).get("buckets", []):
        if "key_as_string" in bucket:
            day = date.fromisoformat(str(bucket["key_as_string"])[:10])
        else:
            day = datetime.fromtimestamp(int(bucket["key"]) / 1000, UTC).date()
        stories = int(bucket.get("stories", {}).get("value") or 0)
        if stories:
            counts[day] = stories
    return counts
