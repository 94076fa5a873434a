"""Reading a catalogue file into plain values plus the line of every YAML path.

We compose nodes instead of calling safe_load because only nodes keep their marks,
and because safe_load silently keeps the last of two duplicate keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from apis.catalog_io.errors import CatalogError, Problem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LAST_STEP = re.compile(r"(\.[^.\[]*|\[[^\]]*\])$")


def child_path(parent: str, key: str | int) -> str:
    """`apis[2].versions[0].base_path`, `routes['GET /items']`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{key!r}]"


@dataclass
class YamlSource:
    value: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    # First line of the text of literal block scalars (`key: |`), to map lines inside them.
    block_starts: dict[str, int] = field(default_factory=dict)
    # Found while reading (duplicate keys); validation reports them with its own.
    problems: list[Problem] = field(default_factory=list)

    def line(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor present in the file."""
        while path not in self.lines and path:
            path = _parent(path)
        return self.lines.get(path)


def _parent(path: str) -> str:
    parent = _LAST_STEP.sub("", path)
    return "" if parent == path else parent


def load_yaml(text: str) -> YamlSource:
    """Parse `text`; raise CatalogError naming the line of a syntax error."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(
            [Problem("", mark.line + 1 if mark else None, f"not valid YAML: {problem}")]
        ) from None
    if node is None:
        raise CatalogError([Problem("", None, "the file is empty")])
    builder = _Builder()
    value = builder.build(node, "")
    return YamlSource(value, builder.lines, builder.block_starts, builder.problems)


class _Builder:
    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.block_starts: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: str) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self.on_mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, child_path(path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.style == "|":
            self.block_starts[path] = node.start_mark.line + 2
        return self.constructor.construct_object(node, deep=True)

    def on_mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.constructor.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.problems.append(Problem(path, line, f"keys must be strings, not {key!r}"))
                continue
            here = child_path(path, key)
            if key in result:
                self.problems.append(Problem(here, line, "duplicate key"))
                continue
            self.lines[here] = line
            result[key] = self.build(value_node, here)
        return result
