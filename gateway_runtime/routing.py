"""Route lookup: host, then base path (one dict), then a segment trie of templates, then method.

Pure (no I/O). Cost depends on the number of path segments, never on the number of
routes: the base path is one dict lookup per distinct base-path depth (usually one), and
each further segment one dict lookup in a trie node's static children (none where a node
has only a parameter child), with the one parameter child tried only when the static
branch fails.

The template trie is shared by every version: `/orders/{id}` of 500 APIs is one chain of
nodes whose leaf node holds a {version mount: _Leaf} dict. Real catalogues repeat REST
shapes, so a lookup touches the same few hot nodes whatever the route count, instead of
a cold per-version subtree (measured: x3 slower at 10,000 routes spread over 1,000
versions when each version had its own subtree, from CPU cache misses alone).

Compiled, the trie and the walk are typed (routing.pxd): C fields, dicts and strings read
through the C API, no list or string per segment beyond the one split of the path, and the
parameter values picked out of that split at the end (a leaf knows their positions) instead
of collected and undone while backtracking. A leaf keeps a finished RouteMatch per method,
returned as it is for a route without parameters and copied with the values otherwise.
Uncached match(), route_lookup_bench --cachegrind (10 routes / 10,000 same paths /
10,000 spread over 1,000 versions), medians of four runs (a run varies by +-15%: it subtracts
two processes' table builds): 11,787 / 11,665 / 12,346 -> 4,330 / 4,210 / 4,410 instructions,
89 / 79 / 119 -> ~10 / ~35 / ~33 L1d misses per match.

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


class _Mount:
    """One version where it is mounted; the key of its leaves in the trie (hashed by identity,
    so a lookup reads no field of it), with `retired` copied out of Version's property."""

    __slots__ = ("version", "retired")

    def __init__(self, version: Version) -> None:
        self.version = version
        self.retired = version.retired


class _Leaf:
    """The routes of one version on one template shape: per method, a RouteMatch without
    values (returned as it is for a route without parameters, copied with them otherwise)."""

    __slots__ = ("methods", "get", "not_allowed", "params")

    def __init__(self, params: tuple[int, ...]) -> None:
        self.methods: dict[str, RouteMatch] = {}
        self.get: RouteMatch | None = None  # methods["GET"]: the common case reads no dict
        self.not_allowed = MethodNotAllowed(b"")
        self.params = params  # positions of the parameter segments after the base path


class _Node:
    __slots__ = ("static", "param", "leaves")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None  # one child for any "{name}" segment
        self.leaves: dict[_Mount, _Leaf] = {}  # the routes of each version ending here


class _Host:
    """The versions mounted under one Host ("" = any Host), by normalized base path."""

    __slots__ = ("mounts", "depths")

    def __init__(self) -> None:
        self.mounts: dict[str, _Mount] = {}
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
        mounts: dict[int, _Mount] = {}  # version id -> its leaves' key
        for version in versions:
            mounts[version.id] = index._mount(version)
        for route in routes:
            if not route.version.retired:
                mount = mounts.get(route.version.id)
                if mount is None:  # a version not mounted: its routes are never reached
                    mount = mounts[route.version.id] = _Mount(route.version)
                index._insert(route, mount)
        for host in index._hosts.values():
            host.depths = tuple(sorted({len(split_path(k)) for k in host.mounts}, reverse=True))
        _finish(index._root)
        return index

    def _mount(self, version: Version) -> _Mount:
        host = self._hosts.get(version.host)
        if host is None:
            host = self._hosts[version.host] = _Host()
            if version.host == "":
                self._any = host
        key = _base_key(split_path(version.base_path))
        other = host.mounts.get(key)
        if other is not None:
            if other.version is version:
                return other
            raise ValueError(
                f"versions {other.version.id} and {version.id} share host {version.host!r} "
                f"and base path {version.base_path!r}"
            )
        mount = host.mounts[key] = _Mount(version)
        return mount

    def _insert(self, route: Route, mount: _Mount) -> None:
        node = self._root
        params = []
        for position, segment in enumerate(split_path(route.path)):
            if _is_param(segment):
                if node.param is None:
                    node.param = _Node()
                node = node.param
                params.append(position)
            else:
                node = node.static.setdefault(segment, _Node())
        leaf = node.leaves.get(mount)
        if leaf is None:
            leaf = node.leaves[mount] = _Leaf(tuple(params))
        other = leaf.methods.get(route.method)
        if other is not None:
            raise ValueError(
                f"routes {other.route.id} and {route.id}: "
                f"{route.method} {route.version.base_path}{route.path} is defined twice"
            )
        leaf.methods[route.method] = RouteMatch(route, ())
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
            # the host is only read when some version names one
            host.decode("latin-1") if len(self._hosts) > (self._any is not None) else "",
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
        if not path or path[0] != "/":
            path = "/" + path
        # segments[0] is the "" before the leading "/"; the walk reads segments[1:end]
        segments = path.split("/")
        end = len(segments)
        if not segments[end - 1]:  # a trailing slash is not significant ("/" is the root)
            end -= 1
        if len(self._hosts) > (self._any is not None):  # some version names a host
            named = self._hosts.get(_bare_host(host))
            if named is not None and named is not self._any:
                result = self._match_host(named, method, path, segments, end)
                if result is not NO_ROUTE:
                    return result
        if self._any is not None:
            return self._match_host(self._any, method, path, segments, end)
        return NO_ROUTE

    def _match_host(
        self, host: _Host, method: str, path: str, segments: list[str], end: int
    ) -> MatchResult:
        """Longest base path first; a deeper mount without a matching route falls back to a
        shallower one. Nothing matched under a retired deepest mount: 410."""
        deepest: _Mount | None = None
        for depth in host.depths:
            if depth >= end:
                continue
            # the base key is the path itself up to the end of segment `depth` ("/a/b" for 2)
            cut = 0
            for i in range(1, depth + 1):
                segment = segments[i]
                cut += len(segment) + 1
            mount = host.mounts.get(path[:cut])
            if mount is None:
                continue
            if deepest is None:
                deepest = mount
            if mount.retired:
                continue
            leaf = _descend(self._root, segments, depth + 1, end, mount)
            if leaf is not None:
                if method == "GET":
                    found = leaf.get
                else:
                    found = leaf.methods.get(method)
                    if found is None and method == "HEAD":
                        found = leaf.get
                if found is None:
                    return leaf.not_allowed
                if not leaf.params:
                    return found  # nothing of the request in it: one object serves all
                return _with_values(found, segments, depth + 1, leaf.params)
        if deepest is not None and deepest.retired:
            return Gone(deepest.version)
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
        leaf.get = leaf.methods.get("GET")
    for child in node.static.values():
        _finish(child)
    if node.param is not None:
        _finish(node.param)


def _descend(node: _Node, segments: list[str], depth: int, end: int, mount: _Mount) -> _Leaf | None:
    """The leaf of `mount`'s version for `segments[depth:end]`.

    A loop while the walk is unambiguous (static prefixes, or a parameter with no static
    sibling); recursion only where a static child and a parameter child both fit, trying
    the static one first and the parameter on a dead end (a dead end includes a leaf that
    belongs to other versions only). The parameter values are not collected on the way: a
    leaf knows at which positions its shape has them.
    """
    while depth < end:
        segment = segments[depth]
        param = node.param
        if param is None or not segment:  # an empty segment is no parameter value
            node = node.static.get(segment)
            if node is None:
                return None
        else:
            if node.static:
                child = node.static.get(segment)
                if child is not None:
                    found = _descend(child, segments, depth + 1, end, mount)
                    if found is not None:
                        return found
            node = param
        depth += 1
    return node.leaves.get(mount)


def _with_values(found: RouteMatch, segments: list[str], base: int, params: tuple) -> RouteMatch:
    """A copy of `found` with the parameter segments of this request."""
    if len(params) == 1:
        values = (segments[base + params[0]],)
    else:
        values = tuple([segments[base + position] for position in params])
    match = RouteMatch.__new__(RouteMatch)
    match.route = found.route
    match.version = found.version
    match.values = values
    match.auth_mode = found.auth_mode
    match.version_id = found.version_id
    return match
