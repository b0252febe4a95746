"""/api/v1/settings: named values the workers use, e.g. a vendor token in download URLs.

A secret setting is encrypted at rest and never returned; a component's
download URL reads it as ``{{ settings.<name> }}``, filled in by the library
worker at download time.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api.context import api_context, db
from services.api.library_schemas import SETTING_NAME, SettingPutSchema, SettingSchema
from shared.models import Setting

blp = Blueprint("settings", __name__, description="Settings (secret or not) used by workers")


def get_setting_or_404(name: str) -> Setting:
    found = db().scalar(select(Setting).where(Setting.name == name))
    if found is None:
        abort(404, message=f"setting '{name}' not found")
    return found


@blp.route("")
@blp.response(200, SettingSchema(many=True))
def list_settings():
    """List settings (secret values are never shown)."""
    return db().scalars(select(Setting).order_by(Setting.name)).all()


@blp.route("/<name>")
class SettingByName(MethodView):
    @blp.response(200, SettingSchema)
    def get(self, name):
        """Show a setting (its value only when it is not secret)."""
        return get_setting_or_404(name)

    @blp.arguments(SettingPutSchema)
    @blp.response(200, SettingSchema)
    def put(self, data, name):
        """Create or replace a setting; a secret one is stored encrypted."""
        if not SETTING_NAME.match(name):
            abort(422, errors={"path": {"name": [
                "1-64 characters: letters, digits and '_', not starting with a digit"]}})
        session = db()
        setting = session.scalar(select(Setting).where(Setting.name == name))
        if setting is None:
            setting = Setting(name=name)
            session.add(setting)
        value = data["value"]
        setting.secret = data["secret"]
        setting.value = api_context().secrets.encrypt(value) if data["secret"] else value
        session.commit()
        return setting

    @blp.response(204)
    def delete(self, name):
        """Delete a setting."""
        session = db()
        session.delete(get_setting_or_404(name))
        session.commit()
