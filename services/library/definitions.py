"""Component definitions: the YAML/JSON documents a library holds.

A file holds one definition (a mapping), a list of them, or a mapping with a
`components` list (the form of an index URL). Each definition is validated on
its own: a bad one is reported with its file and skipped, never fatal to the
sync. The format is documented in the README.
"""

from __future__ import annotations

import re

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
)

from shared.library_files import SAFE_FILENAME
from shared.templating import TemplateError, check_property_template, settings_used

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
KINDS = ("esxi", "router", "vcenter", "ova")
URL_SCHEMES = ("http://", "https://", "file://")


def _no_dots(value: str) -> None:
    if ".." in value:
        raise ValidationError("must not contain '..'")


class DiskSchema(Schema):
    size_gb = fields.Integer(required=True, validate=validate.Range(min=1, max=62 * 1024))
    thin = fields.Boolean(load_default=True)


class SizingSchema(Schema):
    cpus = fields.Integer(validate=validate.Range(min=1, max=128))
    memory_mb = fields.Integer(validate=validate.Range(min=4, max=6 * 1024 * 1024))
    disks = fields.List(fields.Nested(DiskSchema))
    nics = fields.Integer(validate=validate.Range(min=0, max=10))


class DefinitionSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=[validate.Regexp(
        NAME, error="1-64 characters: lowercase letters, digits, '.', '_', '-'"), _no_dots])
    version = fields.String(required=True, validate=[validate.Regexp(
        VERSION, error="1-64 characters: letters, digits, '.', '_', '+', '-'"), _no_dots])
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    description = fields.String(load_default="")
    url = fields.String(required=True)
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    sha256 = fields.String(required=True, validate=validate.Regexp(
        SHA256, error="64 hexadecimal digits"))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    filename = fields.String(validate=[validate.Regexp(
        SAFE_FILENAME, error="a plain file name: letters, digits, '.', '_', '+', '-'"),
        _no_dots])
    sizing = fields.Nested(SizingSchema, load_default=dict)
    properties = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)

    @validates("url")
    def _url(self, value: str, **_) -> None:
        if not value.lower().startswith(URL_SCHEMES):
            raise ValidationError("must start with http://, https:// or file://")
        _settings_template(value)

    @validates("headers")
    def _headers(self, value: dict, **_) -> None:
        for text in value.values():
            _settings_template(text)

    @validates("properties")
    def _properties(self, value: dict, **_) -> None:
        problems = {}
        for key, text in value.items():
            try:
                check_property_template(text)
            except TemplateError as exc:
                problems[key] = str(exc)
        if problems:
            raise ValidationError(problems)

    @post_load
    def _finish(self, data: dict, **_) -> dict:
        data["sha256"] = data["sha256"].lower()
        data["uid"] = f"{data['name']}-{data['version']}"
        return data


def _settings_template(text: str) -> None:
    try:
        settings_used(text)
    except TemplateError as exc:
        raise ValidationError(str(exc)) from exc


def _documents(text: str) -> list:
    data = yaml.safe_load(text)  # JSON is YAML too
    if isinstance(data, dict) and "components" in data:
        data = data["components"]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise ValueError("expected a component definition, a list of them, or a 'components' list")


def parse_file(name: str, text: str) -> tuple[list[dict], list[dict]]:
    """(valid definitions with their `source_file`, errors as {"file", "message", "errors"})."""
    try:
        documents = _documents(text)
    except (yaml.YAMLError, ValueError) as exc:
        return [], [{"file": name, "message": f"not a valid definition file: {exc}"}]
    valid, errors = [], []
    for index, document in enumerate(documents):
        where = name if len(documents) == 1 else f"{name}#{index + 1}"
        if not isinstance(document, dict):
            errors.append({"file": where, "message": "a definition must be a mapping"})
            continue
        try:
            valid.append({**DefinitionSchema().load(document), "source_file": where})
        except ValidationError as exc:
            errors.append({"file": where, "message": "invalid definition",
                           "errors": exc.normalized_messages()})
    return valid, errors


def parse_catalog(files: list[tuple[str, str]]) -> tuple[list[dict], list[dict]]:
    """Every definition of a library's files; a uid defined twice keeps its first file."""
    definitions, errors, seen = [], [], {}
    for name, text in files:
        valid, invalid = parse_file(name, text)
        errors += invalid
        for definition in valid:
            first = seen.setdefault(definition["uid"], definition["source_file"])
            if first != definition["source_file"]:
                errors.append({"file": definition["source_file"],
                               "message": f"'{definition['uid']}' is already defined in {first}"})
                continue
            definitions.append(definition)
    return definitions, errors
