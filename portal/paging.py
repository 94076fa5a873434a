"""Pagination for every HTML list (developer portal, console, operator pages)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 25


def paginate(request: HttpRequest, queryset: Any, per_page: int = PAGE_SIZE) -> Page:
    """The requested page; a bad or out-of-range number gives the first or last page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string minus `page`, so pager links keep them."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
