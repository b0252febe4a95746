"""An open event stream ends, saying why, once its token stops working: revoked, expired,
or its user disabled. Over real HTTP, against the live server."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from shared.models import ApiToken, Job, User, utcnow
from tests.helpers import sse_messages


def expire(app, token_id: int) -> None:
    with app.extensions["nestlab"].sessions() as session, session.begin():
        session.execute(update(ApiToken).where(ApiToken.id == token_id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))


STOPS = {
    "revoked": lambda app, admin, token_id: admin.delete(f"/api/v1/users/rae/tokens/{token_id}"),
    "expired": lambda app, admin, token_id: expire(app, token_id),
    "disabled": lambda app, admin, token_id: admin.patch("/api/v1/users/rae",
                                                         json={"enabled": False}),
}


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/jobs/{job}/events"])
@pytest.mark.parametrize("stop", sorted(STOPS))
def test_a_stream_ends_when_its_token_stops_working(app, live_server, admin, make_user, stop,
                                                    path):
    user = make_user("rae")
    [token] = admin.get("/api/v1/users/rae/tokens").json
    job_id = _own_running_job(app, user_name="rae")
    headers = {"Authorization": f"Bearer {user.token}", "Accept": "text/event-stream"}
    url = live_server + path.format(job=job_id)
    with httpx.Client(timeout=httpx.Timeout(10.0)) as http, \
            http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        messages = sse_messages(response.iter_lines())
        assert next(m for m in messages if "comment" in m)  # the stream is open and quiet
        STOPS[stop](app, admin, token["id"])
        rest = list(messages)  # the server ends the stream: this returns
    [error] = [m for m in rest if m.get("event") == "error"]
    assert stop in json.loads(error["data"])["message"]
    assert rest[-1] is error


def _own_running_job(app, user_name: str) -> int:
    """A running job of the user's (nothing works on it), for the job stream to follow."""
    with app.extensions["nestlab"].sessions() as session, session.begin():
        user_id = session.scalar(select(User.id).where(User.name == user_name))
        job = Job(kind="verify", status="running", user_id=user_id)
        session.add(job)
        session.flush()
        return job.id
