"""The Scrapy item pipeline: a thin adapter from Scrapy to watchdesk's plain-Python pipeline."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.article import Page


class ArticlePipeline:
    """Hands every fetched `Page` to the spider's `processor` (`PageProcessor`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Page):
            spider = self.crawler.spider
            spider.processor.process(item)  # type: ignore[union-attr]
        return item
