"""One JSON body per platform for a `Notice`.

Written by hand, and on purpose: apprise (the obvious library) formats its own
messages from a title and a body, so it cannot carry Slack blocks we choose,
an Adaptive Card for a Teams workflow, a Discord embed or a Google Chat card;
it cannot edit a Discord message in place (it never asks for `?wait=true`,
so never learns the message id); and its `notify()` answers True or False,
while the delivery policy needs the HTTP status and `Retry-After`. These are
small, documented JSON shapes; the platforms' own docs are the reference.
"""

from __future__ import annotations

from services.notifier.messages import Notice

COLOURS = {"succeeded": 0x2EB67D, "failed": 0xE01E5A, "retrying": 0xECB22E,
           "destroyed": 0x868686, "warning": 0xECB22E}
RUNNING_COLOUR = 0x1D9BD1
TEAMS_COLOURS = {"succeeded": "Good", "failed": "Attention", "retrying": "Warning",
                 "warning": "Warning"}


def colour(notice: Notice) -> int:
    return COLOURS.get(notice.state, RUNNING_COLOUR)


def facts(notice: Notice) -> list[tuple[str, str]]:
    """The short facts every platform shows, in order."""
    rows = [("zPod", notice.zpod)] if notice.zpod else []
    rows += [("Step", notice.step), ("Progress", notice.progress),
             ("Elapsed", notice.elapsed_text)]
    if notice.job_id is not None:
        rows.append(("Job", str(notice.job_id)))
    return rows


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack(notice: Notice) -> dict:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(notice.headline, 150)}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": clip(f"*{name}*\n{value}", 2000)}
            for name, value in facts(notice)]},
    ]
    if notice.error:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": clip(f"*Error*\n```{notice.error}```", 3000)}})
    if notice.retry_hint:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip(notice.retry_hint, 3000)}]})
    if notice.link:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"<{notice.link}|job {notice.job_id}>"}]})
    return {"text": clip(notice.text, 3000), "blocks": blocks}


def teams(notice: Notice) -> dict:
    """A message with an Adaptive Card, as a Power Automate "post to a channel when a
    webhook request is received" workflow expects it."""
    body = [
        {"type": "TextBlock", "text": notice.headline, "weight": "Bolder", "size": "Medium",
         "wrap": True, "color": TEAMS_COLOURS.get(notice.state, "Accent")},
        {"type": "FactSet", "facts": [{"title": n, "value": v} for n, v in facts(notice)]},
    ]
    if notice.error:
        body.append({"type": "TextBlock", "text": f"Error: {notice.error}", "wrap": True,
                     "color": "Attention"})
    if notice.retry_hint:
        body.append({"type": "TextBlock", "text": notice.retry_hint, "wrap": True,
                     "isSubtle": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "body": body, "msteams": {"width": "Full"}}
    if notice.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the job", "url": notice.link}]
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": card}]}


def mattermost(notice: Notice) -> dict:
    fields = [{"short": True, "title": n, "value": v} for n, v in facts(notice)]
    if notice.error:
        fields.append({"short": False, "title": "Error", "value": f"```\n{notice.error}\n```"})
    if notice.retry_hint:
        fields.append({"short": False, "title": "How to retry", "value": notice.retry_hint})
    attachment = {"fallback": notice.text, "color": f"#{colour(notice):06X}",
                  "title": notice.headline, "fields": fields, "footer": "nestlab",
                  "ts": int(notice.time.timestamp())}
    if notice.link:
        attachment["title_link"] = notice.link
    return {"username": "nestlab", "attachments": [attachment]}


def discord(notice: Notice) -> dict:
    fields = [{"name": n, "value": clip(v, 1024), "inline": n != "Step"}
              for n, v in facts(notice)]
    if notice.error:
        fields.append({"name": "Error", "value": clip(notice.error, 1024), "inline": False})
    if notice.retry_hint:
        fields.append({"name": "How to retry", "value": clip(notice.retry_hint, 1024),
                       "inline": False})
    embed = {"title": clip(notice.headline, 256), "color": colour(notice), "fields": fields,
             "footer": {"text": "nestlab"}, "timestamp": notice.time.isoformat()}
    if notice.link:
        embed["url"] = notice.link
    # No pings from whatever text a job carries.
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def googlechat(notice: Notice) -> dict:
    widgets = [{"decoratedText": {"topLabel": n, "text": v, "wrapText": True}}
               for n, v in facts(notice)]
    if notice.error:
        widgets.append({"textParagraph": {"text": f"<b>Error</b>: {notice.error}"}})
    if notice.retry_hint:
        widgets.append({"textParagraph": {"text": notice.retry_hint}})
    thread = f"nestlab-job-{notice.job_id}" if notice.job_id is not None else "nestlab-test"
    card = {"header": {"title": notice.headline, "subtitle": notice.step}, "sections": [
        {"widgets": widgets}]}
    return {"text": notice.headline, "thread": {"threadKey": thread},
            "cardsV2": [{"cardId": f"{thread}-{notice.seq}", "card": card}]}


def webhook(notice: Notice) -> dict:
    """The generic signed webhook's body: the Standard Webhooks envelope."""
    return {"type": f"nestlab.{notice.kind}", "timestamp": notice.time.isoformat(), "data": {
        "kind": notice.kind, "state": notice.state, "title": notice.title,
        "zpod": notice.zpod, "job_id": notice.job_id, "seq": notice.seq, "step": notice.step,
        "percent": notice.percent, "elapsed_seconds": notice.elapsed, "error": notice.error,
        "retry_hint": notice.retry_hint, "link": notice.link, "text": notice.text}}


BUILDERS = {"slack": slack, "teams": teams, "mattermost": mattermost, "discord": discord,
            "googlechat": googlechat, "webhook": webhook}
