from faas.spec import FunctionSpec
from gateway.invoke import run_spec


def spec(**body: object) -> FunctionSpec:
    return FunctionSpec.from_deployment({"service": "f", "image": "i", **body})


def test_the_command_is_env_process_else_the_fprocess_variable_else_the_images() -> None:
    assert run_spec(spec(envProcess="cat -n"), 1).command == ["cat", "-n"]
    both = spec(envProcess="cat", envVars={"fprocess": "wc -l"})
    assert run_spec(both, 1).command == ["cat"]
    assert run_spec(spec(envVars={"fprocess": "wc -l"}), 1).command == ["wc", "-l"]
    assert run_spec(spec(), 1).command == []
