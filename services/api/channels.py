"""/api/v1/channels: chat channels, what they subscribe to, and what was posted to them.

The URL of a channel is a credential: it is encrypted at rest and only ever
shown masked. The notifier service does the posting; the API only records
channels and queues test messages.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select

from services.api.channel_schemas import (
    ChannelCreatedSchema,
    ChannelCreateSchema,
    ChannelPatchSchema,
    ChannelSchema,
    DeliveryListQuerySchema,
    DeliverySchema,
    SubscriptionCreateSchema,
    SubscriptionSchema,
    validate_channel_url,
)
from services.api.context import api_context, db
from shared.channels import ChannelKind, mask_url, new_webhook_secret
from shared.contract import Tasks
from shared.models import Channel, Delivery, Subscription
from shared.outbox import publish_task

blp = Blueprint("channels", __name__, description="Chat channels and their deliveries")


def get_channel_or_404(ref: str) -> Channel:
    session = db()
    channel = session.scalar(select(Channel).where(Channel.name == ref))
    if channel is None and ref.isdigit():
        channel = session.get(Channel, int(ref))
    if channel is None:
        abort(404, message=f"channel '{ref}' not found")
    return channel


def _set_url(channel: Channel, url: str) -> None:
    channel.url_encrypted = api_context().secrets.encrypt(url)
    channel.url_masked = mask_url(url)


def _name_free(name: str, channel_id: int | None = None) -> None:
    found = db().scalar(select(Channel.id).where(Channel.name == name))
    if found is not None and found != channel_id:
        abort(409, message=f"a channel named '{name}' already exists")


@blp.route("")
class Channels(MethodView):
    @blp.response(200, ChannelSchema(many=True))
    def get(self):
        """List channels (URLs masked)."""
        return db().scalars(select(Channel).order_by(Channel.id)).all()

    @blp.arguments(ChannelCreateSchema)
    @blp.response(201, ChannelCreatedSchema)
    def post(self, data):
        """Add a channel, optionally with subscriptions. A webhook channel's signing secret
        is in this response only."""
        _name_free(data["name"])
        secret = data.pop("secret", None)
        if data["kind"] == ChannelKind.WEBHOOK:
            secret = secret or new_webhook_secret()
        sealed = api_context().secrets.encrypt(secret) if secret else None
        channel = Channel(name=data["name"], kind=data["kind"], enabled=data["enabled"],
                          secret_encrypted=sealed)
        _set_url(channel, data["url"])
        channel.subscriptions = [Subscription(**sub) for sub in data["subscriptions"]]
        session = db()
        session.add(channel)
        session.commit()
        if secret:
            channel.secret = secret  # shown once, in this response
        return channel


@blp.route("/<ref>")
class ChannelByRef(MethodView):
    @blp.response(200, ChannelSchema)
    def get(self, ref):
        """Show a channel, by name or id."""
        return get_channel_or_404(ref)

    @blp.arguments(ChannelPatchSchema)
    @blp.response(200, ChannelSchema)
    def patch(self, data, ref):
        """Change a channel's name, URL, signing secret or whether it is enabled."""
        channel = get_channel_or_404(ref)
        # The same rules as the create schema's; here because they depend on the
        # stored channel's kind, which the patch schema cannot see.
        if "url" in data:
            try:
                validate_channel_url(channel.kind, data["url"])
            except ValidationError as exc:
                abort(422, errors={"json": exc.normalized_messages()})
            _set_url(channel, data["url"])
        if "secret" in data:
            if channel.kind != ChannelKind.WEBHOOK:
                abort(422, errors={"json": {"secret": ["only a webhook channel has a secret"]}})
            channel.secret_encrypted = api_context().secrets.encrypt(data["secret"])
        if "name" in data:
            _name_free(data["name"], channel.id)
            channel.name = data["name"]
        if "enabled" in data:
            channel.enabled = data["enabled"]
        db().commit()
        return channel

    @blp.response(204)
    def delete(self, ref):
        """Remove a channel, its subscriptions and its delivery history."""
        session = db()
        session.delete(get_channel_or_404(ref))
        session.commit()


@blp.route("/<ref>/subscriptions")
class Subscriptions(MethodView):
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self, ref):
        """The channel's subscriptions."""
        return get_channel_or_404(ref).subscriptions

    @blp.arguments(SubscriptionCreateSchema)
    @blp.response(201, SubscriptionSchema)
    def post(self, data, ref):
        """Subscribe the channel to event kinds, for all zPods, one zPod or one owner's."""
        subscription = Subscription(channel_id=get_channel_or_404(ref).id, **data)
        db().add(subscription)
        db().commit()
        return subscription


@blp.route("/<ref>/subscriptions/<int:subscription_id>", methods=["DELETE"])
@blp.response(204)
def delete_subscription(ref, subscription_id):
    """Remove one subscription."""
    channel = get_channel_or_404(ref)
    found = db().get(Subscription, subscription_id)
    if found is None or found.channel_id != channel.id:
        abort(404, message=f"subscription {subscription_id} not found on channel '{ref}'")
    db().delete(found)
    db().commit()


@blp.route("/<ref>/test", methods=["POST"])
@blp.response(202, DeliverySchema)
def send_test(ref):
    """Queue a test message to the channel; follow it in its deliveries."""
    channel = get_channel_or_404(ref)
    delivery = Delivery(channel_id=channel.id, kind="test")
    db().add(delivery)
    db().commit()
    publish_task(api_context(), Tasks.DELIVER, delivery.id)
    return delivery


@blp.route("/<ref>/deliveries")
@blp.arguments(DeliveryListQuerySchema, location="query")
@blp.response(200, DeliverySchema(many=True))
def deliveries(query, ref):
    """Messages posted (or being posted) to the channel, newest first, with their outcome."""
    statement = select(Delivery).where(Delivery.channel_id == get_channel_or_404(ref).id)
    if query.get("status"):
        statement = statement.where(Delivery.status == query["status"])
    if query.get("job_id"):
        statement = statement.where(Delivery.job_id == query["job_id"])
    return db().scalars(statement.order_by(Delivery.id.desc()).limit(query["limit"])).all()
