"""The local Twelve Labs' analyze response formats: what Pegasus refuses (SDK 1.3.6 docs), and that any accepted
schema is filled from extracted facts and validates (pure logic, no server)."""
from __future__ import annotations

import json

import pytest

from localdev.twelvelabs import insights, schema
from localdev.twelvelabs.generate import generate, plain_text

UNDERSTANDING = {
    "transcript": [{"start": 0.5, "end": 3.0, "value": "the boats rest in the harbour"},
                   {"start": 6.0, "end": 9.0, "value": "fresh bread at the old market"}],
    "speech": [],
    "ocr": [{"w": "harbour", "s": 0.0, "e": 5.0, "x": 10, "y": 300}, {"w": "old", "s": 5.0, "e": 10.0, "x": 10, "y": 300},
            {"w": "market", "s": 5.0, "e": 10.0, "x": 200, "y": 300}],
    "scenes": [5.0],
}
INS = insights.build(UNDERSTANDING, 10.0)
EMPTY = insights.build({}, 8.0)


@pytest.mark.parametrize("node, status", [
    ({"type": "string", "minLength": 1}, 422), ({"type": "string", "maxLength": 5}, 422),
    ({"type": "object", "additionalProperties": False}, 422), ({"type": "array", "uniqueItems": True}, 422),
    ({"type": "array", "maxItems": 2}, 422), ({"type": "array", "minItems": 2}, 422),
    ({"oneOf": [{"type": "string"}]}, 422), ({"allOf": [{"type": "string"}]}, 422),
    ({"type": "number", "minimum": 0}, 422), ({"type": "string", "if": {}}, 422),
    ({"type": "timestamp"}, 400), ({"type": "timestamp", "format": "minutes"}, 400),
    ({"type": "string", "format": "email"}, 400), ({"type": "date"}, 400),
    ({"enum": [{"a": 1}]}, 400), ({"$ref": "#/definitions/x"}, 400), ({"type": "string", "pattern": "("}, 400),
])
def test_refused_schemas(node, status):
    with pytest.raises(schema.SchemaError) as err:
        schema.check({"type": "object", "properties": {"x": node}})
    assert err.value.status == status and err.value.message


def test_timestamp_only_at_the_documented_positions():
    ts = {"type": "timestamp", "format": "seconds"}
    schema.check({"type": "object", "properties": {"at": ts}})
    schema.check({"type": "object", "properties": {"list": {"type": "array", "items": {
        "type": "object", "properties": {"at": ts}}}}})
    for deep in ({"type": "object", "properties": {"o": {"type": "object", "properties": {"at": ts}}}},
                 {"type": "object", "properties": {"at": {"anyOf": [ts, {"type": "null"}]}}}):
        with pytest.raises(schema.SchemaError) as err:
            schema.check(deep)
        assert err.value.status == 400


@pytest.mark.parametrize("decl", [{"type": "boolean"}, {"type": "object"}, {"type": "string", "format": "time"}])
def test_reserved_start_time_declarations_are_refused(decl):
    with pytest.raises(schema.SchemaError):
        schema.check({"type": "object", "properties": {"start_time": decl}})


ANY = {"type": "object", "required": ["summary"], "properties": {
    "notes": {"type": "string"}, "summary": {"type": "string", "description": "ignored annotation"},
    "count": {"type": "integer", "exclusiveMaximum": 2}, "score": {"type": "number"},
    "tag": {"type": "string", "pattern": "^#[a-z]+$"}, "kind": {"enum": ["market", "forest", 3]},
    "fixed": {"const": "v1"}, "maybe": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    "at": {"type": "timestamp", "format": "hh:mm:ss.fff"}, "flags": {"type": "array", "items": {"type": "boolean"}},
    "cuts": {"type": "array", "items": {"type": "number"}}, "nested": {"type": "array", "items": {"type": "array",
                                                                                             "items": {"type": "string"}}},
    "segments": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/seg"}},
    "id": {"type": "string", "format": "uuid"}, "nothing": {"type": "null"}},
    "$defs": {"seg": {"type": "object", "properties": {"start_time": {"type": "string"}, "end_time": {"type": "integer"},
                                                        "headline": {"type": "string"}}}}}


@pytest.mark.parametrize("ins", [INS, EMPTY], ids=["extracted", "nothing-extracted"])
def test_any_schema_is_filled_and_valid(ins):
    schema.check(ANY)
    value = schema.fill(ANY, ins, "seed")  # validates, or raises
    assert next(iter(value)) == "summary"  # the first required property comes first, as the platform does
    assert value["fixed"] == "v1" and value["count"] <= 1 and value["nothing"] is None
    assert len(value["segments"]) >= 1 and isinstance(value["segments"][0]["end_time"], int)


def test_known_names_get_their_extract():
    value = schema.fill(ANY, INS, "seed")
    assert value["tag"] == "#oldmarket" and value["kind"] == "market"
    assert [s["headline"] for s in value["segments"]] == ["Harbour", "Old Market"]
    assert value["segments"][1]["start_time"] == "00:00:05.000" and value["cuts"] == [5.0]  # "cuts": the scene cuts


def test_generation_truncates_at_max_tokens_and_plain_text_follows_the_prompt():
    gen = generate(INS, None, ANY, 5, "seed")
    assert gen.finish_reason == "length" and gen.output_tokens == 5 and gen.warning
    full = generate(INS, None, ANY, None, "seed")
    assert full.finish_reason == "stop" and json.loads(full.data)
    assert plain_text(INS, "Suggest a title") == "Harbour" or plain_text(INS, "Suggest a title") == INS.title
    assert "#harbour" in plain_text(INS, "hashtags please")


def test_a_pattern_nothing_extracted_fits_gets_its_shortest_match():
    assert schema.shortest_match("^#[a-z]+$") == "#a"
    assert schema.shortest_match(r"^\d{3}-(x|y)$") == "000-x"
