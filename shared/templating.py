"""Templates in component definitions, rendered with Jinja2's sandbox.

Two kinds, checked when a library is synced and rendered when they are used:

* OVF property values over a zPod's variables (``{{ hostname }}``,
  ``{{ ip }}``...), rendered by whoever deploys the component;
* download URLs and headers over settings (``{{ settings.vendor_token }}``),
  rendered by the library worker at download time. Secret settings are never
  logged: messages show the template, and `Redactor` masks the values as a
  second line of defence.
"""

from __future__ import annotations

from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

ZPOD_VARIABLES = ("hostname", "ip", "netmask", "prefix", "gateway", "dns", "ntp", "domain",
                  "password", "ssh_key")

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateError(ValueError):
    """A template does not parse or uses a name it may not use."""


def _parse(text: str):
    try:
        return _env.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from exc


def check_property_template(text: str) -> None:
    unknown = meta.find_undeclared_variables(_parse(text)) - set(ZPOD_VARIABLES)
    if unknown:
        raise TemplateError(f"unknown variable(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(ZPOD_VARIABLES)})")


def settings_used(text: str) -> set[str]:
    """The setting names a URL/header template reads; TemplateError if it reads anything else."""
    tree = _parse(text)
    unknown = meta.find_undeclared_variables(tree) - {"settings"}
    if unknown:
        raise TemplateError("only settings.<name> may be used here, not "
                            + ", ".join(sorted(unknown)))
    names = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == "settings":
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if not isinstance(key, str):
                raise TemplateError("settings must be read by a literal name")
            names.add(key)
    return names


def render_properties(properties: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
    """OVF property values for one deployed component."""
    return {key: _env.from_string(text).render(**variables) for key, text in properties.items()}


def render_with_settings(text: str, values: dict[str, str]) -> str:
    return _env.from_string(text).render(settings=values)


class Redactor:
    """Masks secret values (and their URL-encoded forms) in any text."""

    def __init__(self, secrets=()):
        self._secrets = sorted({form for s in secrets if s for form in (s, quote(s, safe=""))},
                               key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
