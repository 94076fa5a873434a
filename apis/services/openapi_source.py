"""Uploaded bytes -> a plain JSON-shaped dict, and the source line of any JSON path.

Speed matters here (a 5 MB document must import in seconds), so the happy path does
the least work: orjson for JSON, libyaml for YAML (see openapi_yaml), and lines are
only looked up (by composing YAML nodes, which JSON also is) when there is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from apis.services.openapi_yaml import MERGE_TAG, compose, load_yaml

PathPart = str | int


@dataclass(frozen=True)
class SourceProblem:
    """A problem found while reading the text; `parts` is the JSON path as a tuple."""

    parts: tuple[PathPart, ...]
    line: int | None
    message: str


class SourceError(Exception):
    def __init__(self, problems: list[SourceProblem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def decode(source: str | bytes) -> str:
    """Text of the upload; a UTF-8 BOM is dropped, other encodings are refused with a line."""
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        raise SourceError([SourceProblem((), line, "the document is not UTF-8 text")]) from None


def load(text: str) -> tuple[Any, str]:
    """(document, "json" | "yaml"); SourceError names the line of a syntax error."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return orjson.loads(text), "json"
        except orjson.JSONDecodeError as exc:
            json_error = exc
        try:  # YAML flow style also starts with a brace
            return _load_yaml(text), "yaml"
        except SourceError:
            raise SourceError(
                [SourceProblem((), json_error.lineno, f"invalid JSON: {json_error.msg}")]
            ) from None
    return _load_yaml(text), "yaml"


def _load_yaml(text: str) -> Any:
    try:
        document, suspect_duplicates = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        raise SourceError([_yaml_problem(exc)]) from None
    except yaml.YAMLError as exc:
        raise SourceError([SourceProblem((), None, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise SourceError([SourceProblem((), None, "the document nests too deeply")]) from None
    if suspect_duplicates:
        duplicates = list(find_duplicate_keys(compose(text)))
        if duplicates:
            raise SourceError(duplicates)
    return document


def _yaml_problem(exc: yaml.MarkedYAMLError) -> SourceProblem:
    mark = exc.problem_mark or exc.context_mark
    parts = [part for part in (exc.context, exc.problem) if part]
    return SourceProblem((), mark.line + 1 if mark else None, "invalid YAML: " + ", ".join(parts))


def find_duplicate_keys(root: Node | None) -> Iterator[SourceProblem]:
    stack: list[tuple[Node, tuple[PathPart, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, parts = stack.pop()
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, ScalarNode):
                    continue
                key = key_node.value
                if key in seen:
                    line = key_node.start_mark.line + 1
                    yield SourceProblem(parts + (key,), line, f"duplicate key '{key}'")
                seen.add(key)
                stack.append((value_node, parts + (key,)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, parts + (index,)) for index, item in enumerate(node.value))


def line_of(root: Node | None, parts: Sequence[PathPart]) -> int | None:
    """1-based line of the deepest node along `parts` (a key's own line for mapping entries)."""
    if root is None:
        return None
    line, node = root.start_mark.line + 1, root
    for part in parts:
        found = _child(node, part)
        if found is None:
            break
        line, node = found
    return line


def _child(node: Node, part: PathPart) -> tuple[int, Node] | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                return key_node.start_mark.line + 1, value_node
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None


def json_path(parts: Iterable[PathPart]) -> str:
    """('paths', '/pets', 'get') -> "$.paths['/pets'].get"."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return text
