"""Field lists of the official Genesys Cloud models, used to reject request fields the real API
does not define (strict mode) and to check that our responses only use defined fields.

`genesys_models.json` holds, per model, its JSON field names with SDK-style types such as
`str`, `list[Detail]`, `dict(str, str)`. Models missing from the file are not checked further.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

MODELS_PATH = Path(__file__).with_name("genesys_models.json")

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(str, (.+)\)$")
_SCALARS = {"str", "int", "bool", "float", "datetime", "date", "object"}


@cache
def models() -> dict[str, dict[str, Any]]:
    return json.loads(MODELS_PATH.read_text(encoding="utf-8"))


def fields(model: str) -> dict[str, str]:
    return models()[model]["fields"]


def enum(model: str, field: str) -> list[str]:
    return models()[model]["enums"].get(field, [])


def unknown_fields(model: str, value: Any, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Dotted paths in `value` that `model` does not define, skipping the paths in `allowed`.

    `allowed` names extra paths (with their whole subtree), e.g. `channel.metadata.customAttributes`.
    List items are addressed without an index (`content.attachment.url`).
    """
    found: list[str] = []
    _walk(model, value, "", set(allowed), found)
    return found


def _walk(type_name: str, value: Any, path: str, allowed: set[str], found: list[str]) -> None:
    if path in allowed:
        return
    list_of = _LIST.match(type_name)
    if list_of:
        if isinstance(value, list):
            for item in value:
                _walk(list_of.group(1), item, path, allowed, found)
        return
    dict_of = _DICT.match(type_name)
    if dict_of:
        if isinstance(value, dict):
            for key, item in value.items():
                _walk(dict_of.group(1), item, _join(path, key), allowed, found)
        return
    if type_name in _SCALARS or type_name not in models() or not isinstance(value, dict):
        return
    model_fields = fields(type_name)
    for key, item in value.items():
        child = _join(path, key)
        if child in allowed:
            continue
        if key not in model_fields:
            found.append(child)
            continue
        _walk(model_fields[key], item, child, allowed, found)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
