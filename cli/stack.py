"""An OpenFaaS `stack.yml`: faas-cli's `${VAR}` substitution, then validation with line numbers."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from faas.durations import parse_duration
from faas.errors import SpecError, StackError
from faas.spec import NAMESPACE, check_name, parse_cpu, parse_memory

T = TypeVar("T")
Fields = dict[str, tuple[Node, Node]]  # key -> (key node, value node), in file order
Check = Callable[[str], object]

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _MERGE = (_TAG + name for name in ("str", "null", "bool", "merge"))
_NUMBERS = (_TAG + "int", _TAG + "float")
_TRUE = ("true", "yes", "on")  # YAML 1.1, as PyYAML's SafeLoader reads them

# `${VAR}`, `${VAR:-default}`, `${VAR-default}`; a default never spans lines.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}\n]*))?\}")

_TOP_KEYS = ("version", "provider", "functions", "configuration")
_PROVIDER_KEYS = ("name", "gateway")
_FUNCTION_KEYS = (
    "lang", "handler", "image", "environment", "environment_file", "secrets", "labels",
    "annotations", "limits", "requests", "readonly_root_filesystem", "fprocess", "build_args",
    "skip_build", "constraints", "namespace", "build_options", "platforms",
)  # fmt: skip
_ENV_CHECKS: Mapping[str, Check] = {"exec_timeout": parse_duration}
_RESOURCE_CHECKS: Mapping[str, Check] = {"memory": parse_memory, "cpu": parse_cpu}


@dataclass(frozen=True)
class StackFunction:
    """One function of a stack file, validated."""

    name: str
    lang: str
    handler: Path | None
    image: str
    environment: dict[str, str]
    secrets: list[str]
    labels: dict[str, str]
    annotations: dict[str, str]
    limits: dict[str, str] | None
    requests: dict[str, str] | None
    readonly_root_filesystem: bool
    fprocess: str
    build_args: dict[str, str]

    def deployment(self) -> dict[str, Any]:
        """The OpenFaaS FunctionDeployment JSON body."""
        body: dict[str, Any] = {
            "service": self.name,
            "image": self.image,
            "namespace": NAMESPACE,
            "envProcess": self.fprocess,
            "envVars": dict(self.environment),
            "secrets": list(self.secrets),
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "readOnlyRootFilesystem": self.readonly_root_filesystem,
        }
        if self.limits is not None:
            body["limits"] = dict(self.limits)
        if self.requests is not None:
            body["requests"] = dict(self.requests)
        return body


@dataclass(frozen=True)
class Stack:
    """A whole stack file: the provider and the functions, in file order."""

    path: Path
    version: str
    provider: str
    gateway: str | None
    functions: dict[str, StackFunction]


def load_stack(path: str | Path, env: Mapping[str, str] | None = None) -> Stack:
    """Read, substitute and validate a stack file; raise StackError naming the file and line."""
    path = Path(path)
    reader = _Reader(str(path))
    text = substitute(reader.read(path), os.environ if env is None else env)
    return _stack(reader, reader.compose(text), path)


def substitute(text: str, env: Mapping[str, str]) -> str:
    """Expand `${VAR}`, `${VAR:-default}` and `${VAR-default}` as faas-cli does."""

    def expand(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        value = env.get(name)
        if (operator == ":-" and not value) or (operator == "-" and value is None):
            return str(default)
        return value or ""

    return _VARIABLE.sub(expand, text)


@dataclass(frozen=True)
class _Reader:
    """Turns one YAML file's nodes into values; each error names the file and the node's line."""

    file: str

    def fail(self, node: Node | None, message: str) -> StackError:
        mark = node.start_mark if node is not None else None
        return StackError(self.file, mark.line + 1 if mark else None, message)

    def read(self, path: Path) -> str:
        try:
            return _read_text(path)
        except OSError as err:
            raise StackError(self.file, None, f"cannot read: {_reason(err)}") from err

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
        return {key: pair for key, pair in pairs.items() if pair[1].tag != _NULL}

    def pairs(self, node: Node, what: str) -> Fields:
        """A mapping's entries with `<<` merge keys applied; the mapping's own keys win."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        merged: Fields = {}
        own: Fields = {}
        for key_node, value in node.value:
            if key_node.tag == _MERGE:
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
        if not isinstance(node, ScalarNode) or node.tag != _STR:
            raise self.fail(node, f"{what} must be a string")
        return str(node.value)

    def text(self, node: Node, what: str) -> str:
        """A scalar as the file spells it (numbers keep their form); null is ""."""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be a string, number or true/false")
        if node.tag == _NULL:
            return ""
        if node.tag == _BOOL and node.value.lower() in ("true", "false"):
            return str(node.value).lower()
        return str(node.value)

    def boolean(self, node: Node, what: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
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

    def environment(self, node: Node, what: str) -> dict[str, str]:
        return self.string_map(node, what, _ENV_CHECKS)

    def resources(self, node: Node, what: str) -> dict[str, str]:
        return self.string_map(node, what, _RESOURCE_CHECKS, strict=True)


def _stack(reader: _Reader, root: Node, path: Path) -> Stack:
    if not isinstance(root, MappingNode):
        raise reader.fail(root, "the stack file must be a mapping of version, provider, functions")
    fields = reader.fields(root, _TOP_KEYS, "the stack file")
    name, gateway = _provider(reader, fields)
    return Stack(
        path=path.absolute(),
        version=_version(reader, _required(reader, fields, "version", root, "")),
        provider=name,
        gateway=gateway,
        functions=_functions(reader, _required(reader, fields, "functions", root, ""), path.parent),
    )


def _required(reader: _Reader, fields: Fields, key: str, parent: Node, where: str) -> Node:
    if key not in fields:
        raise reader.fail(parent, f"{where}{key!r} is required")
    return fields[key][1]


def _get(fields: Fields, key: str, convert: Callable[[Node, str], T], default: T) -> T:
    return convert(fields[key][1], key) if key in fields else default


def _version(reader: _Reader, node: Node) -> str:
    if not isinstance(node, ScalarNode) or node.tag not in (_STR, *_NUMBERS):
        raise reader.fail(node, "version must be a string or a number")
    return str(node.value)


def _provider(reader: _Reader, fields: Fields) -> tuple[str, str | None]:
    """`provider.name` and `provider.gateway`; without a provider, OpenFaaS's defaults."""
    if "provider" not in fields:
        return "openfaas", None
    node = fields["provider"][1]
    provider = reader.fields(node, _PROVIDER_KEYS, "provider")
    name = reader.string(_required(reader, provider, "name", node, "provider: "), "provider.name")
    return name, _get(provider, "gateway", reader.string, None)


def _functions(reader: _Reader, node: Node, folder: Path) -> dict[str, StackFunction]:
    pairs = reader.pairs(node, "functions")
    if not pairs:
        raise reader.fail(node, "functions must list at least one function")
    return {
        name: _function(reader, name, key_node, value, folder)
        for name, (key_node, value) in pairs.items()
    }


def _function(reader: _Reader, name: str, key: Node, node: Node, folder: Path) -> StackFunction:
    _check_name(reader, name, key)
    what = f"function {name!r}"
    fields = reader.fields(node, _FUNCTION_KEYS, what)
    image = reader.string(_required(reader, fields, "image", key, f"{what}: "), "image")
    if not image:
        raise reader.fail(fields["image"][1], "image must not be empty")
    _check_unused(reader, fields)
    return StackFunction(
        name=name,
        lang=_get(fields, "lang", reader.string, ""),
        handler=_get(fields, "handler", lambda n, w: _resolve(folder, reader.string(n, w)), None),
        image=image,
        environment=_environment(reader, fields, folder),
        secrets=_get(fields, "secrets", reader.strings, []),
        labels=_get(fields, "labels", reader.string_map, {}),
        annotations=_get(fields, "annotations", reader.string_map, {}),
        limits=_get(fields, "limits", reader.resources, None),
        requests=_get(fields, "requests", reader.resources, None),
        readonly_root_filesystem=_get(fields, "readonly_root_filesystem", reader.boolean, False),
        fprocess=_get(fields, "fprocess", reader.string, ""),
        build_args=_get(fields, "build_args", reader.string_map, {}),
    )


def _check_name(reader: _Reader, name: str, key: Node) -> None:
    try:
        check_name(name)
    except SpecError as err:
        raise reader.fail(key, str(err)) from err


def _check_unused(reader: _Reader, fields: Fields) -> None:
    """Type-check the keys we accept but do not use, so their mistakes still show early."""
    checks: dict[str, Callable[[Node, str], object]] = {
        "skip_build": reader.boolean,
        "constraints": reader.strings,
        "build_options": reader.strings,
        "platforms": reader.string,
    }
    for key, convert in checks.items():
        _get(fields, key, convert, None)
    namespace = _get(fields, "namespace", reader.string, NAMESPACE)
    if namespace != NAMESPACE:
        message = f"namespace {namespace!r}: the only namespace is {NAMESPACE}"
        raise reader.fail(fields["namespace"][1], message)


def _environment(reader: _Reader, fields: Fields, folder: Path) -> dict[str, str]:
    """`environment_file` entries merged in order, then the function's own `environment`."""
    merged: dict[str, str] = {}
    if "environment_file" in fields:
        node = fields["environment_file"][1]
        entries = reader.strings(node, "environment_file")
        for entry, entry_node in zip(entries, node.value, strict=True):
            merged.update(_environment_file(reader, entry, entry_node, folder))
    own: dict[str, str] = _get(fields, "environment", reader.environment, {})
    return {**merged, **own}


def _environment_file(reader: _Reader, entry: str, node: Node, folder: Path) -> dict[str, str]:
    """The `environment:` mapping of an OpenFaaS environment file, read as written (no `${}`)."""
    path = folder / entry
    try:
        text = _read_text(path)
    except OSError as err:
        message = f"environment_file {entry!r}: cannot read: {_reason(err)}"
        raise reader.fail(node, message) from err
    env_reader = _Reader(str(path))
    root = env_reader.compose(text)
    fields = env_reader.fields(root, ("environment",), "the environment file")
    node = _required(env_reader, fields, "environment", root, "")
    return env_reader.environment(node, "environment")


def _resolve(folder: Path, handler: str) -> Path:
    return Path(os.path.normpath(folder.absolute() / handler))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise OSError(f"not UTF-8 text (byte {err.start})") from err


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _suggest(key: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f": did you mean {close[0]!r}?" if close else ""
