"""YAML text -> a JSON-shaped value, quickly and safely.

PyYAML's own constructor is general and slow (~40% of the load time of a 5 MB
document); ours builds plain dicts and lists straight from libyaml's node tree.
Timestamps stay text (a JSONField cannot hold a date), mapping keys are their
source text (`200:` is the string "200", as OpenAPI means it), aliases share one
object as in PyYAML, and a document whose aliases expand it past a sane size
("billion laughs") or into itself is refused.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
MAX_EXPANDED_NODES = 5_000_000


class DocumentLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.suspect_duplicates = False
        self.aliases = 0
        self.built: dict[int, Any] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # libyaml calls this for every node; PyYAML's version also serves path
        # resolvers, which we never register, at twice the cost.
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return STR_TAG
        return _SEQ_TAG if kind is SequenceNode else _MAP_TAG

    def build(self, node: Node) -> Any:
        kind = node.__class__
        if kind is ScalarNode:
            return node.value if node.tag == STR_TAG else self.construct_object(node)
        if id(node) in self.built:
            self.aliases += 1
            return self.built[id(node)]
        if kind is MappingNode:
            return self._mapping(node)  # type: ignore[arg-type]
        items: list[Any] = []
        self.built[id(node)] = items
        items.extend([self.build(item) for item in node.value])
        return items

    def _mapping(self, node: MappingNode) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        self.built[id(node)] = mapping
        try:
            mapping.update({key.value: self.build(value) for key, value in node.value})
            if "<<" in mapping and any(key.tag == MERGE_TAG for key, _value in node.value):
                mapping.clear()
                self.flatten_mapping(node)
                mapping.update({key.value: self.build(value) for key, value in node.value})
        except TypeError:
            raise ConstructorError(
                None, None, "mapping keys must be plain strings", node.start_mark
            ) from None
        if len(mapping) != len(node.value):
            self.suspect_duplicates = True
        return mapping


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while libyaml allocates its nodes.

    The parser creates a few hundred thousand objects (nodes and their marks) for a
    5 MB document, and each allocation burst triggers a collection that scans all of
    them again: measured 5.8 s with the collector on and 0.4 s with it paused.
    Nothing we allocate here is cyclic garbage, so pausing loses nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_yaml(text: str) -> tuple[Any, bool]:
    """(value, whether some mapping may have had duplicate keys). Raises yaml.YAMLError."""
    loader = DocumentLoader(text)
    with gc_paused():
        try:
            root = loader.get_single_node()
            value = loader.build(root) if root is not None else None
            if loader.aliases and root is not None:
                check_expansion(root)
            return value, loader.suspect_duplicates
        finally:
            loader.dispose()


def check_expansion(root: Node) -> None:
    """Refuse aliases that make the document contain itself or expand it enormously."""
    total = _expanded(root, {}, set())
    if total > MAX_EXPANDED_NODES:
        raise ConstructorError(
            None,
            None,
            f"aliases expand the document to over {MAX_EXPANDED_NODES:,} values",
            root.start_mark,
        )


def _expanded(node: Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    if node.__class__ is ScalarNode:
        return 1
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise ConstructorError(
            None, None, "an alias refers to a node that contains it", node.start_mark
        )
    open_nodes.add(key)
    children = (
        [child for pair in node.value for child in pair]
        if node.__class__ is MappingNode
        else node.value
    )
    sizes[key] = total = 1 + sum(_expanded(child, sizes, open_nodes) for child in children)
    open_nodes.discard(key)
    return total


def compose(text: str) -> Node | None:
    """The node tree of the text (JSON included); None when it does not even parse."""
    try:
        with gc_paused():
            return yaml.compose(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
