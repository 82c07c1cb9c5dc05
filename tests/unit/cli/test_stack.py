"""Unit tests of cli.stack: loading, substitution and validation of stack files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cli.stack import Stack, StackFunction, load_stack, substitute
from faas.errors import StackError
from faas.spec import FunctionSpec

# Four lines; whatever a test appends starts at line 5.
HEAD = "version: 1.0\nfunctions:\n  a:\n    image: a\n"

FULL = """\
version: 1.0
provider:
  name: openfaas
  gateway: ${GATEWAY:-http://127.0.0.1:8080}
configuration:
  templates:
    - name: python3
functions:
  hello:
    lang: python3
    handler: ./hello
    image: ${REGISTRY-docker.io}/hello:${TAG}
    fprocess: python3 index.py
    environment_file:
      - env/common.yml
      - env/extra.yml
    environment:
      write_debug: true
      shout: True
      exec_timeout: 10s
      retries: 3
      ratio: 0.50
      empty:
    secrets:
      - api-key
    labels:
      com.openfaas.scale.min: 1
    annotations:
      topic: orders
    limits:
      memory: 128Mi
      cpu: 500m
    requests:
      memory: 64Mi
    readonly_root_filesystem: true
    build_args:
      PIP_INDEX: ${PIP_INDEX:-https://pypi.org/simple}
    skip_build: false
    namespace: openfaas-fn
  second:
    image: second:latest
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_error(path: Path, env: dict[str, str] | None = None) -> StackError:
    with pytest.raises(StackError) as caught:
        load_stack(path, env or {})
    return caught.value


def full_stack(tmp_path: Path) -> Stack:
    write(tmp_path, "env/common.yml", "environment:\n  shared: a\n  exec_timeout: 5s\n")
    write(tmp_path, "env/extra.yml", "environment:\n  shared: b\n  only_extra: x\n")
    path = write(tmp_path, "stack.yml", FULL)
    return load_stack(path, {"TAG": "1.2", "GATEWAY": "", "REGISTRY": ""})


def hello(tmp_path: Path) -> StackFunction:
    return full_stack(tmp_path).functions["hello"]


def test_full_stack_top_level(tmp_path: Path) -> None:
    stack = full_stack(tmp_path)
    assert stack.path == tmp_path / "stack.yml"
    assert stack.version == "1.0"
    assert stack.provider == "openfaas"
    assert stack.gateway == "http://127.0.0.1:8080"
    assert list(stack.functions) == ["hello", "second"]


def test_substitution_defaults_apply_as_faas_cli_does(tmp_path: Path) -> None:
    fn = hello(tmp_path)
    assert fn.image == "/hello:1.2"  # `${REGISTRY-...}`: set but empty keeps the empty value
    assert fn.build_args == {"PIP_INDEX": "https://pypi.org/simple"}


def test_environment_files_merged_then_overridden(tmp_path: Path) -> None:
    assert hello(tmp_path).environment == {
        "shared": "b",
        "exec_timeout": "10s",
        "only_extra": "x",
        "write_debug": "true",
        "shout": "true",
        "retries": "3",
        "ratio": "0.50",
        "empty": "",
    }


def test_function_fields(tmp_path: Path) -> None:
    fn = hello(tmp_path)
    assert fn.lang == "python3"
    assert fn.handler == tmp_path / "hello"
    assert fn.fprocess == "python3 index.py"
    assert fn.secrets == ["api-key"]
    assert fn.labels == {"com.openfaas.scale.min": "1"}
    assert fn.annotations == {"topic": "orders"}
    assert fn.limits == {"memory": "128Mi", "cpu": "500m"}
    assert fn.requests == {"memory": "64Mi"}
    assert fn.readonly_root_filesystem is True


def test_minimal_function_defaults(tmp_path: Path) -> None:
    fn = full_stack(tmp_path).functions["second"]
    assert (fn.lang, fn.handler, fn.fprocess) == ("", None, "")
    assert (fn.limits, fn.requests, fn.readonly_root_filesystem) == (None, None, False)
    assert fn.environment == fn.labels == fn.build_args == {}
    assert fn.secrets == []


def test_deployment_body(tmp_path: Path) -> None:
    body = hello(tmp_path).deployment()
    assert body["service"] == "hello"
    assert body["image"] == "/hello:1.2"
    assert body["namespace"] == "openfaas-fn"
    assert body["envProcess"] == "python3 index.py"
    assert body["envVars"]["exec_timeout"] == "10s"
    assert body["secrets"] == ["api-key"]
    assert body["labels"] == {"com.openfaas.scale.min": "1"}
    assert body["annotations"] == {"topic": "orders"}
    assert body["limits"] == {"memory": "128Mi", "cpu": "500m"}
    assert body["requests"] == {"memory": "64Mi"}
    assert body["readOnlyRootFilesystem"] is True
    assert FunctionSpec.from_deployment(body).timeout == 10.0


def test_deployment_omits_absent_resources(tmp_path: Path) -> None:
    body = full_stack(tmp_path).functions["second"].deployment()
    assert "limits" not in body
    assert "requests" not in body


def test_handler_resolved_against_the_stack_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "sub/stack.yml", HEAD + "    handler: ../fn/a\n")
    monkeypatch.chdir(tmp_path)
    stack = load_stack("sub/stack.yml", {})
    assert stack.functions["a"].handler == tmp_path / "fn" / "a"
    assert stack.provider == "openfaas"
    assert stack.gateway is None


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_TEST_IMAGE", "from-os:1")
    path = write(
        tmp_path, "stack.yml", "version: 1\nfunctions:\n  a:\n    image: ${FAAS_TEST_IMAGE}\n"
    )
    assert load_stack(path).functions["a"].image == "from-os:1"


def test_merge_keys_are_applied(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stack.yml",
        """\
        version: 1.0
        functions:
          a: &base
            image: a
            environment: {x: "1"}
          b:
            <<: *base
            image: b
        """,
    )
    b = load_stack(path, {}).functions["b"]
    assert (b.image, b.environment) == ("b", {"x": "1"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "set"),
        ("${MISSING}", ""),
        ("${MISSING:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${MISSING-d}", "d"),
        ("${A:-d}/${A-d}", "set/set"),
        ("$A ${not valid}", "$A ${not valid}"),
    ],
)
def test_substitute(text: str, expected: str) -> None:
    assert substitute(text, {"A": "set", "EMPTY": ""}) == expected


def test_substitution_keeps_line_numbers(tmp_path: Path) -> None:
    text = "version: ${V:-1.0}\nfunctions:\n  a:\n    image: ${I:-x}\n    labels: [${L:-no}]\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 5
    assert "labels must be a mapping" in error.message


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", HEAD + "   bad: [\n")
    error = load_error(path)
    assert error.file == str(path)
    assert error.line == 5  # the badly indented line
    assert error.message.startswith("invalid YAML: expected <block end>")


def test_yaml_mapping_value_error_line(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", "version: 1.0\nfunctions:\n  a:\n    image: a: b\n")
    error = load_error(path)
    assert error.line == 4
    assert "mapping values are not allowed here" in error.message


def test_missing_image(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", "version: 1.0\nfunctions:\n  hello:\n    lang: python3\n")
    error = load_error(path)
    assert str(error) == f"{path}:3: function 'hello': 'image' is required"


def test_bad_function_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stack.yml",
        "version: 1.0\nfunctions:\n  ok:\n    image: a\n  Bad_Name:\n    image: b\n",
    )
    error = load_error(path)
    assert error.line == 5
    assert "invalid function name 'Bad_Name'" in error.message


def test_unknown_function_key_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", HEAD + "    enviroment: {}\n")
    error = load_error(path)
    assert error.line == 5
    assert error.message == "unknown key 'enviroment' in function 'a': did you mean 'environment'?"


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", "version: 1.0\nfuncitons:\n  a:\n    image: a\n")
    error = load_error(path)
    assert error.line == 2
    assert "did you mean 'functions'?" in error.message


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    path = write(tmp_path, "stack.yml", HEAD + "    zzz: 1\n")
    assert load_error(path).message == "unknown key 'zzz' in function 'a'"


def test_bad_memory(tmp_path: Path) -> None:
    text = HEAD + "    limits:\n      cpu: 1\n      memory: lots\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 7
    assert error.message == "limits.memory: invalid memory 'lots': write e.g. 128Mi, 128m, 1G"


def test_bad_cpu_in_requests(tmp_path: Path) -> None:
    text = HEAD + "    requests:\n      cpu: fast\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 6
    assert error.message.startswith("requests.cpu: invalid cpu 'fast'")


def test_unknown_resource_key(tmp_path: Path) -> None:
    text = HEAD + "    limits:\n      memroy: 1G\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 6
    assert "did you mean 'memory'?" in error.message


def test_bad_exec_timeout(tmp_path: Path) -> None:
    text = HEAD + "    environment:\n      exec_timeout: soon\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 6
    assert error.message.startswith("environment.exec_timeout: invalid duration 'soon'")


def test_environment_must_be_a_mapping(tmp_path: Path) -> None:
    text = HEAD + "    environment:\n      - A=1\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 6
    assert error.message == "environment must be a mapping"


def test_environment_value_must_be_scalar(tmp_path: Path) -> None:
    text = HEAD + "    environment:\n      A: [1, 2]\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.line == 6
    assert "environment.A must be a string, number or true/false" in error.message


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("image: 3", "image must be a string"),
        ("readonly_root_filesystem: maybe", "readonly_root_filesystem must be true or false"),
        ("secrets: [a, {b: c}]", "secrets[1] must be a string"),
        ("namespace: other", "namespace 'other': the only namespace is openfaas-fn"),
        ("skip_build: 1", "skip_build must be true or false"),
    ],
)
def test_bad_field_types(tmp_path: Path, entry: str, message: str) -> None:
    text = f"version: 1.0\nfunctions:\n  a:\n    lang: python3\n    {entry}\n"
    if not entry.startswith("image"):
        text += "    image: a\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert (error.line, error.message) == (5, message)


def test_duplicate_function(tmp_path: Path) -> None:
    text = HEAD + "  a:\n    image: b\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert (error.line, error.message) == (5, "duplicate key 'a' in functions")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    error = load_error(path)
    assert (error.file, error.line) == (str(path), None)
    assert error.message.startswith("cannot read: ")
    assert str(error).startswith(f"{path}: cannot read")


def test_empty_file(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "stack.yml", "# nothing here\n"))
    assert (error.line, error.message) == (None, "the file is empty")


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "stack.yml", "- a\n- b\n"))
    assert error.line == 1
    assert "must be a mapping" in error.message


def test_required_top_level_keys(tmp_path: Path) -> None:
    assert load_error(write(tmp_path, "a.yml", "functions:\n  a:\n    image: a\n")).message == (
        "'version' is required"
    )
    assert load_error(write(tmp_path, "b.yml", "version: 1.0\n")).message == (
        "'functions' is required"
    )
    error = load_error(write(tmp_path, "c.yml", "version: 1.0\nfunctions: {}\n"))
    assert (error.line, error.message) == (2, "functions must list at least one function")
    error = load_error(
        write(tmp_path, "d.yml", "version: 1.0\nprovider:\n  gateway: x\nfunctions: {}\n")
    )
    assert (error.line, error.message) == (3, "provider: 'name' is required")


def test_missing_environment_file(tmp_path: Path) -> None:
    text = HEAD + "    environment_file:\n      - ok.yml\n      - gone.yml\n"
    write(tmp_path, "ok.yml", "environment:\n  A: 1\n")
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.file == str(tmp_path / "stack.yml")
    assert error.line == 7
    assert error.message.startswith("environment_file 'gone.yml': cannot read:")


def test_bad_environment_file_names_that_file(tmp_path: Path) -> None:
    env_file = write(tmp_path, "env.yml", "environment:\n  A: 1\n  exec_timeout: never\n")
    text = HEAD + "    environment_file: [env.yml]\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert (error.file, error.line) == (str(env_file), 3)
    assert error.message.startswith("environment.exec_timeout: invalid duration 'never'")


def test_environment_file_without_environment_key(tmp_path: Path) -> None:
    env_file = write(tmp_path, "env.yml", "enviroment:\n  A: 1\n")
    text = HEAD + "    environment_file: [env.yml]\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert (error.file, error.line) == (str(env_file), 1)
    assert "did you mean 'environment'?" in error.message


def test_environment_file_with_bad_yaml(tmp_path: Path) -> None:
    env_file = write(tmp_path, "env.yml", "environment:\n  A: 1\n  B: [\n")
    text = HEAD + "    environment_file: [env.yml]\n"
    error = load_error(write(tmp_path, "stack.yml", text))
    assert error.file == str(env_file)
    assert error.line == 4
    assert "invalid YAML" in error.message
