"""Index templates, ILM policy and alias names of one deployment, rendered from index_templates/.

The JSON files are the reviewed source of truth; the names in them carry a `{prefix}`
placeholder and the sizes are the defaults of `ElasticsearchConfig`. `render_resources` puts
the configured prefix, shard counts and ILM values in, and stamps each body with a hash of its
content so that `setup` can tell "unchanged" from "updated" without comparing the bodies
Elasticsearch hands back (it adds defaults of its own to them).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.config import ElasticsearchConfig

# index_templates/ sits at the top of the repository, beside the packages.
TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "index_templates"
PLACEHOLDER = "{prefix}"


@dataclass(frozen=True, slots=True)
class IndexNames:
    """Every name one deployment uses, derived from `index_prefix`."""

    prefix: str

    @property
    def write_alias(self) -> str:
        """Bulk writes go here; ILM rolls it over to a new index."""
        return f"{self.prefix}-articles"

    @property
    def read_alias(self) -> str:
        """Every article index; searches, counts and gets go through it."""
        return f"{self.prefix}-search"

    @property
    def first_index(self) -> str:
        return f"{self.prefix}-articles-000001"

    @property
    def ilm_policy(self) -> str:
        return f"{self.prefix}-articles"

    @property
    def analysis_component(self) -> str:
        return f"{self.prefix}-analysis"

    @property
    def mappings_component(self) -> str:
        return f"{self.prefix}-articles-mappings"

    @property
    def articles_template(self) -> str:
        return f"{self.prefix}-articles"

    @property
    def watchlists_template(self) -> str:
        return f"{self.prefix}-watchlists"

    @property
    def watchlists_index(self) -> str:
        return f"{self.prefix}-watchlists"


@dataclass(frozen=True, slots=True)
class Resources:
    """The rendered bodies, ready for the client's put_* calls."""

    names: IndexNames
    ilm_policy: dict[str, Any]
    analysis_component: dict[str, Any]
    mappings_component: dict[str, Any]
    articles_template: dict[str, Any]
    watchlists_template: dict[str, Any]


def load_template(name: str, directory: Path = TEMPLATES_DIR) -> dict[str, Any]:
    """One JSON file of index_templates/, as written (placeholders left in)."""
    path = directory / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: index template file missing") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def _substitute(node: Any, prefix: str) -> Any:
    """Replace the placeholder in every string, keys included (alias names are keys)."""
    if isinstance(node, str):
        return node.replace(PLACEHOLDER, prefix)
    if isinstance(node, list):
        return [_substitute(v, prefix) for v in node]
    if isinstance(node, dict):
        return {_substitute(k, prefix): _substitute(v, prefix) for k, v in node.items()}
    return node


def content_hash(body: dict[str, Any]) -> str:
    """A short digest of a body without its `_meta` (where the digest itself is kept)."""
    stripped = {k: v for k, v in body.items() if k != "_meta"}
    text = json.dumps(stripped, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _stamp(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    meta = dict(body.get("_meta") or {})
    meta["watchdesk_hash"] = content_hash(body)
    body["_meta"] = meta
    return body


def render_resources(cfg: ElasticsearchConfig, directory: Path = TEMPLATES_DIR) -> Resources:
    """Every body `setup` installs, for this config."""
    names = IndexNames(cfg.index_prefix)
    prefix = cfg.index_prefix

    policy = _substitute(load_template("articles.ilm-policy.json", directory), prefix)["policy"]
    rollover = policy["phases"]["hot"]["actions"]["rollover"]
    rollover["max_primary_shard_size"] = cfg.rollover_max_size
    rollover["max_age"] = cfg.rollover_max_age
    policy["phases"]["delete"]["min_age"] = cfg.retention

    articles = _substitute(load_template("articles.index-template.json", directory), prefix)
    watchlists = _substitute(load_template("watchlists.index-template.json", directory), prefix)
    for template in (articles, watchlists):
        index = template["template"]["settings"]["index"]
        index["number_of_shards"] = cfg.shards
        index["number_of_replicas"] = cfg.replicas

    return Resources(
        names=names,
        ilm_policy=_stamp(policy),
        analysis_component=_stamp(
            _substitute(load_template("analysis.component-template.json", directory), prefix)
        ),
        mappings_component=_stamp(
            _substitute(
                load_template("articles-mappings.component-template.json", directory), prefix
            )
        ),
        articles_template=_stamp(articles),
        watchlists_template=_stamp(watchlists),
    )


__all__ = ["TEMPLATES_DIR", "IndexNames", "Resources", "content_hash", "render_resources"]
