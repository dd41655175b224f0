"""hitl/state.py: the user's schema as keys and reducers, and JSON in and out."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pydantic
import pytest

from hitl.state import StateSchema, one_line, to_json
from hitl.types import InvalidInputError, InvalidUpdateError


def merge(left: dict, right: dict) -> dict:
    return {**left, **right}


class S(TypedDict, total=False):
    text: str
    trail: Annotated[list[str], operator.add]
    tags: Annotated[dict[str, int], merge]
    note: Annotated[str, "metadata kept on the type"]


class Item(pydantic.BaseModel):
    name: str


class Order(pydantic.BaseModel):
    customer: str
    items: Annotated[list[Item], operator.add] = []


def test_keys_reducers_and_defaults_are_read_from_a_typeddict() -> None:
    schema = StateSchema(S)
    assert sorted(schema.channels) == ["note", "tags", "text", "trail"]
    specs = schema.specs()
    assert (specs["text"].reducer, specs["text"].has_default) == ("last_value", False)
    assert (specs["trail"].reducer, specs["trail"].default) == ("add", [])
    assert (specs["tags"].reducer, specs["tags"].reducer_name) == ("custom", "merge")
    assert specs["note"].reducer == "last_value" and specs["note"].json_schema == {"type": "string"}


def test_input_is_checked_key_by_key() -> None:
    schema = StateSchema(S)
    assert schema.validate_input({"text": "a"}) == {"text": "a"}
    with pytest.raises(InvalidInputError, match=r"unknown key\(s\) \['txt'\]; the state keys are"):
        schema.validate_input({"txt": "a"})
    with pytest.raises(InvalidInputError, match="input: key 'text': Input should be a valid string"):
        schema.validate_input({"text": 5})
    with pytest.raises(InvalidInputError, match="must be a JSON object .*; got list"):
        schema.validate_input([1])


def test_a_pydantic_state_validates_as_a_model_and_reaches_nodes_as_one() -> None:
    schema = StateSchema(Order)
    assert schema.validate_input({"customer": "ada"}) == {"customer": "ada"}
    with pytest.raises(InvalidInputError, match="input does not fit Order: customer: Field required"):
        schema.validate_input({})
    state = schema.node_input({"customer": "ada", "items": [{"name": "tea"}]})
    assert isinstance(state, Order) and state.items == [Item(name="tea")]
    assert schema.check_update(Order(customer="bo"), node="n") == {"customer": "bo"}  # only the fields set


def test_updates_are_checked_and_turned_into_json() -> None:
    schema = StateSchema(S)
    assert schema.check_update({"trail": ["a"]}, node="n") == {"trail": ["a"]}
    with pytest.raises(InvalidUpdateError, match="node 'n' returned int; a node returns a dict"):
        schema.check_update(42, node="n")
    with pytest.raises(InvalidUpdateError, match=r"node 'n' update has unknown key\(s\) \['zz'\]"):
        schema.check_update({"zz": 1}, node="n")
    with pytest.raises(InvalidUpdateError, match="node 'n' wrote key 'text': object is not JSON-serialisable"):
        schema.check_update({"text": object()}, node="n")


def test_apply_runs_the_real_reducers() -> None:
    schema = StateSchema(S)
    values = schema.apply({"trail": ["a"], "tags": {"x": 1}}, {"trail": ["b"], "tags": {"y": 2}, "text": "t"})
    assert values == {"trail": ["a", "b"], "tags": {"x": 1, "y": 2}, "text": "t"}


def test_unsupported_schemas_and_values_say_so() -> None:
    with pytest.raises(InvalidInputError, match="use a TypedDict or a pydantic BaseModel"):
        StateSchema(int)
    assert to_json({"a": (1, 2)}, what="x") == {"a": [1, 2]}
    try:
        pydantic.TypeAdapter(int).validate_python("x")
    except pydantic.ValidationError as e:
        assert one_line(e) == "Input should be a valid integer, unable to parse string as an integer"
