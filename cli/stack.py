"""An OpenFaaS `stack.yml`: faas-cli's `${VAR}` substitution, then validation with line numbers."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode

from cli.yamlreader import NUMBERS, STR, Check, Fields, YamlReader, read_text, reason
from faas.durations import parse_duration
from faas.errors import SpecError
from faas.spec import NAMESPACE, check_name, parse_cpu, parse_memory

T = TypeVar("T")


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
    reader = YamlReader(str(path))
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


def _stack(reader: YamlReader, root: Node, path: Path) -> Stack:
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


def _required(reader: YamlReader, fields: Fields, key: str, parent: Node, where: str) -> Node:
    if key not in fields:
        raise reader.fail(parent, f"{where}{key!r} is required")
    return fields[key][1]


def _get(fields: Fields, key: str, convert: Callable[[Node, str], T], default: T) -> T:
    return convert(fields[key][1], key) if key in fields else default


def _version(reader: YamlReader, node: Node) -> str:
    if not isinstance(node, ScalarNode) or node.tag not in (STR, *NUMBERS):
        raise reader.fail(node, "version must be a string or a number")
    return str(node.value)


def _provider(reader: YamlReader, fields: Fields) -> tuple[str, str | None]:
    """`provider.name` and `provider.gateway`; without a provider, OpenFaaS's defaults."""
    if "provider" not in fields:
        return "openfaas", None
    node = fields["provider"][1]
    provider = reader.fields(node, _PROVIDER_KEYS, "provider")
    name = reader.string(_required(reader, provider, "name", node, "provider: "), "provider.name")
    return name, _get(provider, "gateway", reader.string, None)


def _functions(reader: YamlReader, node: Node, folder: Path) -> dict[str, StackFunction]:
    pairs = reader.pairs(node, "functions")
    if not pairs:
        raise reader.fail(node, "functions must list at least one function")
    return {
        name: _function(reader, name, key_node, value, folder)
        for name, (key_node, value) in pairs.items()
    }


def _function(reader: YamlReader, name: str, key: Node, node: Node, folder: Path) -> StackFunction:
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
        limits=_get(fields, "limits", _resources(reader), None),
        requests=_get(fields, "requests", _resources(reader), None),
        readonly_root_filesystem=_get(fields, "readonly_root_filesystem", reader.boolean, False),
        fprocess=_get(fields, "fprocess", reader.string, ""),
        build_args=_get(fields, "build_args", reader.string_map, {}),
    )


def _check_name(reader: YamlReader, name: str, key: Node) -> None:
    try:
        check_name(name)
    except SpecError as err:
        raise reader.fail(key, str(err)) from err


def _check_unused(reader: YamlReader, fields: Fields) -> None:
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


def _environment(reader: YamlReader, fields: Fields, folder: Path) -> dict[str, str]:
    """`environment_file` entries merged in order, then the function's own `environment`."""
    merged: dict[str, str] = {}
    if "environment_file" in fields:
        node = fields["environment_file"][1]
        entries = reader.strings(node, "environment_file")
        for entry, entry_node in zip(entries, node.value, strict=True):
            merged.update(_environment_file(reader, entry, entry_node, folder))
    own: dict[str, str] = _get(fields, "environment", _env(reader), {})
    return {**merged, **own}


def _environment_file(reader: YamlReader, entry: str, node: Node, folder: Path) -> dict[str, str]:
    """The `environment:` mapping of an OpenFaaS environment file, read as written (no `${}`)."""
    path = folder / entry
    try:
        text = read_text(path)
    except OSError as err:
        message = f"environment_file {entry!r}: cannot read: {reason(err)}"
        raise reader.fail(node, message) from err
    env_reader = YamlReader(str(path))
    root = env_reader.compose(text)
    fields = env_reader.fields(root, ("environment",), "the environment file")
    node = _required(env_reader, fields, "environment", root, "")
    return _env(env_reader)(node, "environment")


def _resolve(folder: Path, handler: str) -> Path:
    return Path(os.path.normpath(folder.absolute() / handler))


def _env(reader: YamlReader) -> Callable[[Node, str], dict[str, str]]:
    """An `environment` mapping of the reader's file, its known variables checked."""
    return lambda node, what: reader.string_map(node, what, _ENV_CHECKS)


def _resources(reader: YamlReader) -> Callable[[Node, str], dict[str, str]]:
    """`limits` or `requests` of the reader's file: only the known keys, each checked."""
    return lambda node, what: reader.string_map(node, what, _RESOURCE_CHECKS, strict=True)
