"""Where component files live, and who uses them.

A ready component's file is ``<library dir>/<name>/<version>/<filename>``; a
download in progress writes ``.<filename>.part`` beside it and renames it into
place only once its size and sha256 are right, so a file under its final name
is always whole. Uploads arrive in ``<library dir>/.uploads/``. Both the API
(uploads, disable) and the library worker use these paths, so they share the
library directory (one volume in compose).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import (
    Component,
    LibraryComponent,
    StagedTemplate,
    TemplateStatus,
    Zpod,
    ZpodStatus,
)
from shared.settings import Settings

TEMPLATES_FOLDER = "nestlab-templates"
SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
UPLOADS = ".uploads"


def filename_for(definition: dict) -> str:
    """The file's name: the definition's `filename`, else the URL's last path part."""
    if definition.get("filename"):
        return definition["filename"]
    last = urlsplit(definition["url"]).path.rsplit("/", 1)[-1]
    if SAFE_FILENAME.match(last) and ".." not in last:
        return last
    return f"{definition['name']}-{definition['version']}.ova"


def template_name(uid: str) -> str:
    """The VM name of a component's template on every endpoint (vCenter allows 80 characters)."""
    return f"nestlab-tpl-{uid}"[:80]


def component_dir(settings: Settings, component: LibraryComponent) -> Path:
    return Path(settings.library_dir) / component.name / component.version


def final_path(settings: Settings, component: LibraryComponent) -> Path:
    return component_dir(settings, component) / filename_for(component.definition)


def partial_path(settings: Settings, component: LibraryComponent) -> Path:
    return component_dir(settings, component) / f".{filename_for(component.definition)}.part"


def relative(settings: Settings, path: Path) -> str:
    return str(path.relative_to(settings.library_dir))


def upload_path(settings: Settings, upload_id: str) -> Path:
    return Path(settings.library_dir) / UPLOADS / f"{upload_id}.part"


def component_users(session: Session, component: LibraryComponent) -> list[str]:
    """What still needs the component's file: live zPods built from it, stagings under way.

    A zPod component records the library component it was built from as
    ``spec["component"]`` (its uid).
    """
    users = []
    rows = session.execute(select(Zpod.name, Component.spec).join(Component.zpod).where(
        Zpod.status != ZpodStatus.DESTROYED))
    zpods = sorted({name for name, spec in rows if (spec or {}).get("component") == component.uid})
    users += [f"zPod '{name}'" for name in zpods]
    staging = session.scalars(select(StagedTemplate).where(
        StagedTemplate.component_id == component.id,
        StagedTemplate.status.in_([TemplateStatus.QUEUED, TemplateStatus.STAGING])))
    users += [f"staging onto endpoint '{t.endpoint.name}' (job {t.job_id})" for t in staging]
    return users
