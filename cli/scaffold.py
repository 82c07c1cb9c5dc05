"""`faas new`: a function's handler folder from a template, and its entry in the stack file."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from cli.stack import load_stack
from cli.templates import render
from faas.errors import Error
from faas.spec import check_name

DEFAULT_PREFIX = "${FAAS_IMAGE_PREFIX:-faas}"
STACK_HEAD = """\
version: 1.0
provider:
  name: openfaas
  gateway: ${OPENFAAS_URL:-http://127.0.0.1:8080}

functions:
"""


@dataclass
class NewFunction:
    """What `faas new` makes: a function of a language, in a stack file's folder."""

    name: str
    lang: str
    stack_file: Path
    prefix: str = DEFAULT_PREFIX

    @property
    def folder(self) -> Path:
        return self.stack_file.parent / "functions" / self.name

    @property
    def image(self) -> str:
        return f"{self.prefix.rstrip('/')}/{self.name}:latest"

    def entry(self, indent: int) -> str:
        """The function's entry under `functions:`, its key indented by `indent` spaces."""
        pad, inner = " " * indent, " " * (indent + 2)
        return (
            f"{pad}{self.name}:\n"
            f"{inner}lang: dockerfile\n"
            f"{inner}handler: ./functions/{self.name}\n"
            f"{inner}image: {self.image}\n"
            f"{inner}labels:\n"
            f"{inner}  com.faas.runtime: {self.lang}\n"
        )


def new_function(fn: NewFunction) -> Path:
    """Write the handler folder and add the function to the stack file; return the folder."""
    check_name(fn.name)
    if fn.folder.exists():
        raise Error(f"{fn.folder} already exists: choose another name or remove it")
    text = _with_function(fn)
    staged = fn.stack_file.with_name(f".{fn.stack_file.name}.new")
    staged.write_text(text)
    try:
        load_stack(staged)  # refuse before touching anything if the result would not load
        _write_folder(fn)
        os.replace(staged, fn.stack_file)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return fn.folder


def _write_folder(fn: NewFunction) -> None:
    fn.folder.mkdir(parents=True)
    try:
        for file, text in render(fn.lang, fn.name).items():
            (fn.folder / file).write_text(text)
    except OSError:
        shutil.rmtree(fn.folder, ignore_errors=True)
        raise


def _with_function(fn: NewFunction) -> str:
    """The stack file's text with the function's entry added; a new file when there is none."""
    if not fn.stack_file.exists():
        return STACK_HEAD + fn.entry(2)
    text = fn.stack_file.read_text()
    root = _compose(fn.stack_file, text)
    key, functions = _top_item(root, "functions")
    if key is None or functions is None:
        return _ending(text) + "\nfunctions:\n" + fn.entry(2)
    if isinstance(functions, MappingNode) and not functions.flow_style:
        names = [k.value for k, _ in functions.value if isinstance(k, ScalarNode)]
        if fn.name in names:
            raise Error(f"{fn.stack_file}: function {fn.name!r} already exists")
        indent = functions.value[0][0].start_mark.column if functions.value else 2
        return _insert(text, functions.end_mark.line, fn.entry(indent))
    if isinstance(functions, ScalarNode) and functions.value == "":
        return _insert(text, key.start_mark.line + 1, fn.entry(2))
    raise Error(f"{fn.stack_file}: cannot add to 'functions': write it as a block mapping")


def _compose(path: Path, text: str) -> MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise Error(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if root is None:
        return MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, MappingNode):
        raise Error(f"{path}: the stack file must be a mapping of version, provider, functions")
    return root


def _top_item(root: MappingNode, key: str) -> tuple[Node | None, Node | None]:
    for k, v in root.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None, None


def _insert(text: str, line: int, block: str) -> str:
    """Insert a block of lines before the given (0-based) line; at the end past the last one."""
    lines = _ending(text).splitlines(keepends=True)
    # a block mapping ends where the next section starts: put the entry before the blank lines
    # and comments that lead into that section
    while line > 0 and line <= len(lines) and _filler(lines[line - 1]):
        line -= 1
    line = min(line, len(lines))
    return "".join(lines[:line]) + block + "".join(lines[line:])


def _filler(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _ending(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
