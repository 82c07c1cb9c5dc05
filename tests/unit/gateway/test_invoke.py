from types import SimpleNamespace

from faas.spec import FunctionSpec
from gateway.routes.invoke import call_id_of
from gateway.submissions import run_spec


def spec(**body: object) -> FunctionSpec:
    return FunctionSpec.from_deployment({"service": "f", "image": "i", **body})


def test_the_command_is_env_process_else_the_fprocess_variable_else_the_images() -> None:
    assert run_spec(spec(envProcess="cat -n"), 1).command == ["cat", "-n"]
    both = spec(envProcess="cat", envVars={"fprocess": "wc -l"})
    assert run_spec(both, 1).command == ["cat"]
    assert run_spec(spec(envVars={"fprocess": "wc -l"}), 1).command == ["wc", "-l"]
    assert run_spec(spec(), 1).command == []


def test_a_tick_shaped_call_id_is_not_taken_from_a_caller() -> None:
    gw = SimpleNamespace(sync_calls=SimpleNamespace(waiting={}))

    def given(call_id: str) -> str | None:
        request = SimpleNamespace(headers={"x-call-id": call_id})
        return call_id_of(request, gw)  # type: ignore[arg-type]

    assert given("my-call-1") == "my-call-1"
    assert given("beat-20270115T080000Z") is None  # a fresh id is made instead
