"""Unit tests of `faas new` (cli.functions, cli.scaffold, cli.templates) in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli import main
from cli.stack import load_stack
from cli.templates import LANGUAGES

ROOT = Path(__file__).resolve().parents[3]
FILES = {
    "python3": {"Dockerfile", "handler.py"},
    "shell": {"Dockerfile", "handler.sh"},
    "dockerfile": {"Dockerfile"},
}
BASES = {
    "python3": "faas/base-python:bookworm",
    "shell": "faas/base-busybox:latest",
    "dockerfile": "faas/base-busybox:latest",
}


def new(stack: Path, name: str, lang: str, *more: str) -> int:
    return main(["new", name, "--lang", lang, "-f", str(stack), *more])


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    return err


@pytest.mark.parametrize("lang", LANGUAGES)
def test_new_creates_the_folder_and_the_stack(
    tmp_path: Path, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "stack.yml"
    assert new(stack, "my-fn", lang) == 0
    folder = tmp_path / "functions" / "my-fn"
    assert {p.name for p in folder.iterdir()} == FILES[lang]
    assert f"FROM {BASES[lang]}\n" in (folder / "Dockerfile").read_text()
    loaded = load_stack(stack, env={})
    assert loaded.version == "1.0"
    assert loaded.provider == "openfaas"
    fn = loaded.functions["my-fn"]
    assert (fn.lang, fn.handler, fn.image) == ("dockerfile", folder, "faas/my-fn:latest")
    assert fn.labels == {"com.faas.runtime": lang}
    assert f"added my-fn to {stack}" in capsys.readouterr().out


def test_python_template_answers_its_body(tmp_path: Path) -> None:
    assert new(tmp_path / "stack.yml", "py", "python3") == 0
    source = (tmp_path / "functions" / "py" / "handler.py").read_text()
    scope: dict[str, object] = {"__name__": "handler"}
    exec(compile(source, "handler.py", "exec"), scope)
    handle = scope["handle"]
    assert callable(handle)
    assert handle("world") == "Hello, you said: world"


def test_prefix_names_the_image(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    assert new(stack, "sh", "shell", "--prefix", "registry.local/team/") == 0
    assert load_stack(stack).functions["sh"].image == "registry.local/team/sh:latest"


def test_appends_to_an_existing_stack_keeping_it(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    shutil.copy(ROOT / "stack.yml", stack)
    before = stack.read_text()
    assert new(stack, "extra", "shell") == 0
    after = stack.read_text()
    assert after.startswith(before)
    assert list(load_stack(stack, env={}).functions) == ["hello", "wc", "href-counter", "extra"]


def test_adds_before_a_later_section(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text(
        "version: 1.0\nfunctions:\n    one:\n        image: one:latest\n\n"
        "# settings\nconfiguration:\n    templates: []\n"
    )
    assert new(stack, "two", "dockerfile") == 0
    text = stack.read_text()
    assert text.index("    two:\n") < text.index("# settings")
    assert list(load_stack(stack).functions) == ["one", "two"]


def test_adds_functions_when_the_stack_has_none(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("version: 1.0\nprovider:\n  name: openfaas\n")
    assert new(stack, "first", "shell") == 0
    assert list(load_stack(stack).functions) == ["first"]


def test_refuses_an_existing_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "stack.yml"
    assert new(stack, "twice", "shell") == 0
    shutil.rmtree(tmp_path / "functions" / "twice")
    before = stack.read_text()
    capsys.readouterr()
    assert new(stack, "twice", "python3") == 1
    assert error_line(capsys) == f"faas: {stack}: function 'twice' already exists\n"
    assert stack.read_text() == before
    assert not (tmp_path / "functions" / "twice").exists()


def test_refuses_an_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "functions" / "taken"
    folder.mkdir(parents=True)
    assert new(tmp_path / "stack.yml", "taken", "shell") == 1
    assert "already exists" in error_line(capsys)
    assert not (tmp_path / "stack.yml").exists()
    assert list(folder.iterdir()) == []


def test_refuses_an_invalid_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new(tmp_path / "stack.yml", "Not_Valid", "shell") == 1
    assert "invalid function name 'Not_Valid'" in error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_stack_that_would_not_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("functions:\n  one:\n    image: one:latest\n")  # no version
    assert new(stack, "two", "shell") == 1
    assert "'version' is required" in error_line(capsys)
    assert stack.read_text() == "functions:\n  one:\n    image: one:latest\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.yml"]


def test_refuses_invalid_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("version: [1.0\n")
    assert new(stack, "two", "shell") == 1
    assert "not valid YAML" in error_line(capsys)


def test_unknown_language_is_a_usage_error(tmp_path: Path) -> None:
    assert new(tmp_path / "stack.yml", "fn", "cobol") == 2
