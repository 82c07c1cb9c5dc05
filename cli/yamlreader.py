"""Read one YAML file's nodes into values, each error naming the file and the node's line."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from faas.errors import SpecError, StackError

Fields = dict[str, tuple[Node, Node]]  # key -> (key node, value node), in file order
Check = Callable[[str], object]

TAG = "tag:yaml.org,2002:"
STR, NULL, BOOL, MERGE = (TAG + name for name in ("str", "null", "bool", "merge"))
NUMBERS = (TAG + "int", TAG + "float")
_TRUE = ("true", "yes", "on")  # YAML 1.1, as PyYAML's SafeLoader reads them


@dataclass(frozen=True)
class YamlReader:
    """Turns one YAML file's nodes into values; each error names the file and the node's line."""

    file: str

    def fail(self, node: Node | None, message: str) -> StackError:
        mark = node.start_mark if node is not None else None
        return StackError(self.file, mark.line + 1 if mark else None, message)

    def read(self, path: Path) -> str:
        try:
            return read_text(path)
        except OSError as err:
            raise StackError(self.file, None, f"cannot read: {reason(err)}") from err

    def compose(self, text: str) -> Node:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else None
            problem = err.problem or err.context
            raise StackError(self.file, line, f"invalid YAML: {problem}") from err
        except yaml.YAMLError as err:
            raise StackError(self.file, None, f"invalid YAML: {err}") from err
        if root is None:
            raise StackError(self.file, None, "the file is empty")
        return root

    def fields(self, node: Node, known: Collection[str], what: str) -> Fields:
        """A mapping's entries, refusing unknown keys; an entry set to null counts as absent."""
        pairs = self.pairs(node, what)
        for key, (key_node, _) in pairs.items():
            if key not in known:
                raise self.fail(key_node, f"unknown key {key!r} in {what}{_suggest(key, known)}")
        return {key: pair for key, pair in pairs.items() if pair[1].tag != NULL}

    def pairs(self, node: Node, what: str) -> Fields:
        """A mapping's entries with `<<` merge keys applied; the mapping's own keys win."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        merged: Fields = {}
        own: Fields = {}
        for key_node, value in node.value:
            if key_node.tag == MERGE:
                merged.update(self.merged(value, what))
            else:
                self.add(own, key_node, value, what)
        return {**merged, **own}

    def merged(self, node: Node, what: str) -> Fields:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: Fields = {}
        for source in reversed(sources):  # the first mapping listed wins
            merged.update(self.pairs(source, what))
        return merged

    def add(self, fields: Fields, key_node: Node, value: Node, what: str) -> None:
        if not isinstance(key_node, ScalarNode):
            raise self.fail(key_node, f"keys in {what} must be strings")
        key = str(key_node.value)
        if key in fields:
            raise self.fail(key_node, f"duplicate key {key!r} in {what}")
        fields[key] = (key_node, value)

    def string(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag != STR:
            raise self.fail(node, f"{what} must be a string")
        return str(node.value)

    def text(self, node: Node, what: str) -> str:
        """A scalar as the file spells it (numbers keep their form); null is ""."""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be a string, number or true/false")
        if node.tag == NULL:
            return ""
        if node.tag == BOOL and node.value.lower() in ("true", "false"):
            return str(node.value).lower()
        return str(node.value)

    def boolean(self, node: Node, what: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != BOOL:
            raise self.fail(node, f"{what} must be true or false")
        return str(node.value).lower() in _TRUE

    def strings(self, node: Node, what: str) -> list[str]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list of strings")
        return [self.string(item, f"{what}[{i}]") for i, item in enumerate(node.value)]

    def string_map(
        self, node: Node, what: str, checks: Mapping[str, Check] | None = None, strict: bool = False
    ) -> dict[str, str]:
        """A mapping of scalars as text; with `strict`, only the keys of `checks` are allowed."""
        checks = checks or {}
        pairs = self.fields(node, checks, what) if strict else self.pairs(node, what)
        values = {key: self.text(value, f"{what}.{key}") for key, (_, value) in pairs.items()}
        for key, check in checks.items():
            if key in values:
                self.check(check, values[key], pairs[key][1], f"{what}.{key}")
        return values

    def check(self, parse: Check, text: str, node: Node, what: str) -> None:
        try:
            parse(text)
        except SpecError as err:
            raise self.fail(node, f"{what}: {err}") from err


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise OSError(f"not UTF-8 text (byte {err.start})") from err


def reason(err: OSError) -> str:
    return err.strerror or str(err)


def _suggest(key: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f": did you mean {close[0]!r}?" if close else ""
