"""Route lookup: host, then base path (one dict), then a segment trie of templates, then method.

Pure (no I/O). Cost depends on the number of path segments, never on the number of
routes: the base path is one dict lookup per distinct base-path depth (usually one), and
each further segment one dict lookup in a trie node's static children, with the one
parameter child tried only when the static branch fails.

The template trie is shared by every version: `/orders/{id}` of 500 APIs is one chain of
nodes whose leaf holds a small {version id: methods} dict. Real catalogues repeat REST
shapes, so a lookup touches the same few hot nodes whatever the route count, instead of
a cold per-version subtree (measured: x3 slower at 10,000 routes spread over 1,000
versions when each version had its own subtree, from CPU cache misses alone).

match_raw() is match() for the request's own bytes, remembered per index (so per config
revision): traffic repeats a bounded set of (host, method, path), and a hit is one dict lookup
instead of decoding, splitting and walking (hotpath_bench: 12.6 -> 10.5 us per request).

match(host, method, path) answers one of four results, each with a `status`:
  RouteMatch (200), NO_ROUTE (404), MethodNotAllowed (405, `allow` header value),
  Gone (410, a retired version mounted on that path).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from gateway_runtime.config.table import Route, Version

SEEN_MAX = 10_000  # answers match_raw() remembers per index
SEEN_CHAIN = 8  # of which for one path (hosts x methods); a longer chain starts over
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}


class RouteMatch:
    status = 200

    def __init__(self, route: Route, values: tuple[str, ...]) -> None:
        self.route = route
        self.version = route.version
        self.values = values  # raw (still percent-encoded) parameter segments, in order
        # for auth.authenticate_raw, per request: interned, its mode tests are a pointer compare
        self.auth_mode = sys.intern(route.auth_mode)
        self.version_id = route.version.id

    @property
    def params(self) -> dict[str, str]:
        """Template parameter name -> raw segment, built only when someone asks."""
        return dict(zip(self.route.param_names, self.values, strict=True))


class NoRoute:
    status = 404


class MethodNotAllowed:
    status = 405

    def __init__(self, allow: bytes) -> None:
        self.allow = allow  # b"GET, HEAD, POST"


class Gone:
    status = 410

    def __init__(self, version: Version) -> None:
        self.version = version


NO_ROUTE = NoRoute()
MatchResult = RouteMatch | NoRoute | MethodNotAllowed | Gone


class _Seen:
    """One answer match_raw() remembers: the host and method it was for, and the answers
    remembered before it for the same path."""

    def __init__(
        self, host: bytes, method: bytes, result: MatchResult, older: _Seen | None
    ) -> None:
        self.host = host
        self.method = method
        self.result = result
        self.older = older
        self.depth = older.depth + 1 if older is not None else 1


class _Leaf:
    """The routes of one version on one template shape, by method."""

    __slots__ = ("methods", "not_allowed")

    def __init__(self) -> None:
        self.methods: dict[str, Route] = {}
        self.not_allowed = MethodNotAllowed(b"")


class _Node:
    __slots__ = ("static", "param", "leaves")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None  # one child for any "{name}" segment
        self.leaves: dict[int, _Leaf] = {}  # version id -> its routes ending here


class _Host:
    """The versions mounted under one Host ("" = any Host), by normalized base path."""

    __slots__ = ("mounts", "depths")

    def __init__(self) -> None:
        self.mounts: dict[str, Version] = {}
        self.depths: tuple[int, ...] = ()  # segment counts of the base paths, deepest first


def split_path(path: str) -> list[str]:
    """'/a/b/' -> ['a', 'b']; '/' -> []. A trailing slash is not significant."""
    parts = path.split("/")
    if parts[-1] == "":
        parts.pop()
    return parts[1:] if parts and parts[0] == "" else parts


def _is_param(segment: str) -> bool:
    return len(segment) > 2 and segment[0] == "{" and segment[-1] == "}"


def _base_key(segments: list[str]) -> str:
    return "/" + "/".join(segments) if segments else ""


class RouteIndex:
    """Immutable after build()."""

    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}
        self._any: _Host | None = None
        self._root = _Node()
        self.route_count = 0
        # path bytes -> its remembered answers; emptied when full, so random paths from a
        # scanner cost one dict insert each and never grow it past SEEN_MAX answers
        self._seen: dict[bytes, _Seen] = {}
        self._seen_size = 0

    @classmethod
    def build(cls, versions: Iterable[Version], routes: Iterable[Route]) -> RouteIndex:
        """Index every version's mount point and every route of a non-retired version.

        Raises ValueError naming both routes when one method is defined twice on the same
        template shape (parameter names do not matter: /a/{x} and /a/{y} are one shape).
        """
        index = cls()
        for version in versions:
            index._mount(version)
        for route in routes:
            if not route.version.retired:
                index._insert(route)
        for host in index._hosts.values():
            host.depths = tuple(sorted({len(split_path(k)) for k in host.mounts}, reverse=True))
        _finish(index._root)
        return index

    def _mount(self, version: Version) -> None:
        host = self._hosts.get(version.host)
        if host is None:
            host = self._hosts[version.host] = _Host()
            if version.host == "":
                self._any = host
        key = _base_key(split_path(version.base_path))
        other = host.mounts.get(key)
        if other is not None and other is not version:
            raise ValueError(
                f"versions {other.id} and {version.id} share host {version.host!r} "
                f"and base path {version.base_path!r}"
            )
        host.mounts[key] = version

    def _insert(self, route: Route) -> None:
        node = self._root
        for segment in split_path(route.path):
            if _is_param(segment):
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                node = node.static.setdefault(segment, _Node())
        leaf = node.leaves.setdefault(route.version.id, _Leaf())
        if route.method in leaf.methods:
            raise ValueError(
                f"routes {leaf.methods[route.method].id} and {route.id}: "
                f"{route.method} {route.version.base_path}{route.path} is defined twice"
            )
        leaf.methods[route.method] = route
        self.route_count += 1

    def match_raw(self, host: bytes, method: bytes, path: bytes) -> MatchResult:
        """match() for the bytes of a request (latin-1, as HTTP/1.1 carries them), cached.

        Keyed by the path alone, the host and method then compared: request bytes are new
        objects each time, so every key hashed is a full pass over it (a (host, method, path)
        tuple cost three), while a path rarely comes with more than one host and method.
        """
        first = self._seen.get(path)
        entry = first
        while entry is not None:
            if entry.method == method and entry.host == host:
                return entry.result
            entry = entry.older
        result = self.match(
            host.decode("latin-1"),
            _METHODS.get(method) or method.decode("latin-1"),
            path.decode("latin-1"),
        )
        if first is not None and first.depth >= SEEN_CHAIN:
            self._seen_size -= first.depth
            first = None
        if self._seen_size >= SEEN_MAX:
            self._seen.clear()
            self._seen_size = 0
            first = None
        self._seen[path] = _Seen(host, method, result, first)
        self._seen_size += 1
        return result

    def match(self, host: str, method: str, path: str) -> MatchResult:
        """Find the route for one request. `host` may carry a port; `path` has no query."""
        segments = split_path(path)
        if len(self._hosts) > (self._any is not None):  # some version names a host
            named = self._hosts.get(_bare_host(host))
            if named is not None and named is not self._any:
                result = self._match_host(named, method, segments)
                if result is not NO_ROUTE:
                    return result
        if self._any is not None:
            return self._match_host(self._any, method, segments)
        return NO_ROUTE

    def _match_host(self, host: _Host, method: str, segments: list[str]) -> MatchResult:
        """Longest base path first; a deeper mount without a matching route falls back to a
        shallower one. Nothing matched under a retired deepest mount: 410."""
        deepest: Version | None = None
        for depth in host.depths:
            if depth > len(segments):
                continue
            version = host.mounts.get(_base_key(segments[:depth]))
            if version is None:
                continue
            if deepest is None:
                deepest = version
            if version.retired:
                continue
            params: list[str] = []
            leaf = _descend(self._root, segments, depth, params, version.id)
            if leaf is not None:
                route = leaf.methods.get(method)
                if route is None and method == "HEAD":
                    route = leaf.methods.get("GET")
                if route is None:
                    return leaf.not_allowed
                return RouteMatch(route, tuple(params))
        if deepest is not None and deepest.retired:
            return Gone(deepest)
        return NO_ROUTE


def _bare_host(host: str) -> str:
    if host and host[-1] != "]":  # "[::1]" has colons but no port
        cut = host.rfind(":")
        if cut > 0 and host[cut + 1 :].isdigit():
            host = host[:cut]
    return host.lower()


def _finish(node: _Node) -> None:
    """Precompute the Allow header value of every leaf."""
    for leaf in node.leaves.values():
        allowed = set(leaf.methods)
        if "GET" in allowed:
            allowed.add("HEAD")
        leaf.not_allowed = MethodNotAllowed(", ".join(sorted(allowed)).encode())
    for child in node.static.values():
        _finish(child)
    if node.param is not None:
        _finish(node.param)


def _descend(
    node: _Node, segments: list[str], depth: int, params: list[str], version: int
) -> _Leaf | None:
    """The leaf of `version` for `segments[depth:]`, capturing parameter values into `params`.

    A loop while the walk is unambiguous (static prefixes, or a parameter with no static
    sibling); recursion only where a static child and a parameter child both fit, trying
    the static one first and the parameter on a dead end (a dead end includes a leaf that
    belongs to other versions only).
    """
    mark = len(params)
    end = len(segments)
    while depth < end:
        segment = segments[depth]
        child = node.static.get(segment)
        param = node.param
        if param is None or not segment:
            if child is None:
                break
            node = child
        elif child is None:
            params.append(segment)
            node = param
        else:
            found = _descend(child, segments, depth + 1, params, version)
            if found is not None:
                return found
            params.append(segment)
            node = param
        depth += 1
    else:
        leaf = node.leaves.get(version)
        if leaf is not None:
            return leaf
    del params[mark:]
    return None
