"""Layered configuration: a base document, then overlays, merged in order.

The rules, applied by `merge(base, overlay)`:

* mappings merge recursively, key by key;
* lists and scalars in the overlay replace what the base had;
* the value `"$delete"` removes the key from the result;
* a list of mappings can be edited item by item instead of replaced: give a
  mapping with `"$items"` (and optionally `"$key"`, the field that names an
  item: `hostname`, else `name`, by default). Each entry of `$items` merges
  into the item of that name, `"$delete"` removes it, and a name not found
  appends a new item.

    base:    {"items": [{"hostname": "esxi1", "cpus": 4}, {"hostname": "esxi2"}]}
    overlay: {"items": {"$items": {"esxi1": {"cpus": 8}, "esxi2": "$delete"}}}
    result:  {"items": [{"hostname": "esxi1", "cpus": 8}]}

Nothing is modified in place; `merge_all` folds several overlays left to right.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

DELETE = "$delete"
ITEMS = "$items"
KEY = "$key"
DEFAULT_ITEM_KEYS = ("hostname", "name")


class OverlayError(ValueError):
    """An overlay cannot apply to the document (e.g. `$items` on something not a list)."""


def merge(base: Any, overlay: Any, path: str = "") -> Any:
    if isinstance(overlay, Mapping) and ITEMS in overlay:
        return _merge_items(base, overlay, path)
    if isinstance(base, Mapping) and isinstance(overlay, Mapping):
        result = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in overlay.items():
            if value == DELETE:
                result.pop(key, None)
            elif key in result:
                result[key] = merge(result[key], value, f"{path}.{key}" if path else key)
            else:
                result[key] = strip(value)
        return result
    return strip(overlay)


def strip(value: Any) -> Any:
    """A copy of `value` without directives, for values added where nothing was."""
    if isinstance(value, Mapping):
        if ITEMS in value:
            return [strip(item) for name, item in value[ITEMS].items() if item != DELETE]
        return {k: strip(v) for k, v in value.items() if v != DELETE}
    if isinstance(value, list):
        return [strip(item) for item in value]
    return copy.deepcopy(value)


def _item_key(items: list, overlay: Mapping, path: str) -> str:
    if KEY in overlay:
        return overlay[KEY]
    for candidate in DEFAULT_ITEM_KEYS:
        if all(isinstance(i, Mapping) and candidate in i for i in items):
            return candidate
    raise OverlayError(f"{path or 'document'}: `$items` needs list items with a "
                       f"'hostname' or 'name' field, or a `$key`")


def _merge_items(base: Any, overlay: Mapping, path: str) -> list:
    if base is None:
        base = []
    if not isinstance(base, list):
        raise OverlayError(f"{path or 'document'}: `$items` applies to a list")
    key = _item_key(base, overlay, path)
    result = [copy.deepcopy(item) for item in base]
    for name, change in overlay[ITEMS].items():
        index = next((i for i, item in enumerate(result) if item.get(key) == name), None)
        if change == DELETE:
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append({key: name, **strip(change)})
        else:
            result[index] = merge(result[index], change, f"{path}[{name}]")
    return result


def merge_all(base: Any, overlays: Iterable[Any]) -> Any:
    result = strip(base)
    for overlay in overlays:
        result = merge(result, overlay)
    return result
