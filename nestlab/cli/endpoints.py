"""`nestlab endpoints`: register, list, show, verify vCenter endpoints and show their capacity."""

from __future__ import annotations

import typer

from nestlab.cli.progress import follow
from nestlab.cli.session import api, state

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "ID"), ("name", "NAME"), ("host", "HOST"), ("datacenter", "DATACENTER"),
           ("cluster", "CLUSTER"), ("switch", "SWITCH"), ("status", "STATUS")]
DETAIL = COLUMNS + [("port", "PORT"), ("username", "USERNAME"), ("datastore", "DATASTORE"),
                    ("verify_tls", "VERIFY TLS"), ("thumbprint", "THUMBPRINT"),
                    ("supernet", "SUPERNET"), ("vlan_range", "VLAN RANGE"),
                    ("status_message", "MESSAGE"), ("verified_at", "VERIFIED")]


@app.command("list")
def list_endpoints():
    """List endpoints."""
    with api() as client:
        state.out.data(client.endpoints(), COLUMNS)


@app.command()
def show(ref: str):
    """Show one endpoint (id or name)."""
    with api() as client:
        state.out.data(client.endpoint(ref), DETAIL)


@app.command()
def create(
    name: str,
    host: str = typer.Option(..., help="vCenter host name or address."),
    username: str = typer.Option(...),
    password: str = typer.Option(..., prompt=True, hide_input=True,
                                 envvar="NESTLAB_ENDPOINT_PASSWORD"),
    datacenter: str = typer.Option(...),
    cluster: str = typer.Option(...),
    datastore: str = typer.Option(...),
    switch: str = typer.Option(..., help="The distributed switch for zPod networks."),
    supernet: str = typer.Option(..., help="zPod /24s come from it, e.g. 10.96.0.0/16."),
    vlan_range: str = typer.Option(..., help="e.g. 100-199."),
    port: int = typer.Option(443),
    thumbprint: str = typer.Option(None, help="Pinned SHA-256 certificate fingerprint."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify TLS."),
):
    """Register a vCenter endpoint."""
    body = dict(name=name, host=host, port=port, username=username, password=password,
                datacenter=datacenter, cluster=cluster, datastore=datastore, switch=switch,
                supernet=supernet, vlan_range=vlan_range, verify_tls=not insecure)
    if thumbprint:
        body["thumbprint"] = thumbprint
    with api() as client:
        state.out.data(client.create_endpoint(**body), DETAIL)


@app.command()
def verify(ref: str, wait: bool = typer.Option(True, help="Wait for the result.")):
    """Log in to the endpoint and check its datacenter, cluster, datastore and switch."""
    with api() as client:
        job = client.verify_endpoint(ref)
        if not wait:
            state.out.data(job, [("id", "JOB"), ("status", "STATUS")])
            return
        job = follow(client, job["id"], state.out.err, f"verify {ref}")
    if job["status"] != "succeeded":
        state.out.error(job["error"])
        raise typer.Exit(1)
    state.out.say(f"endpoint '{ref}' is ready")


CAPACITY = [("resource", "RESOURCE"), ("total", "TOTAL"), ("held", "HELD BY ZPODS"),
            ("free", "FREE"), ("unit", "UNIT"), ("note", "NOTE")]


def capacity_rows(found: dict) -> list[dict]:
    cpu, memory, storage = found["cpu"], found["memory"], found["storage"]
    return [
        {"resource": "cpu", "total": cpu["total_cores"], "held": cpu["held_vcpus"],
         "free": cpu["free_vcpus"], "unit": "vCPUs",
         "note": f"{cpu['overcommit']}:1 overcommit; {cpu['total_mhz'] or '-'} MHz in all"},
        {"resource": "memory", "total": memory["total_mb"], "held": memory["held_mb"],
         "free": memory["free_mb"], "unit": "MB", "note": f"{memory['overcommit']}:1 overcommit"},
        {"resource": "storage", "total": storage["total_gb"], "held": storage["held_gb"],
         "free": storage["free_gb"], "unit": "GB",
         "note": f"datastore free {storage['datastore_free_gb'] or '-'} GB; thin disks at "
                 "full size"},
        {"resource": "vlans", "total": found["vlans"]["total"], "held": found["vlans"]["used"],
         "free": found["vlans"]["free"], "unit": "VLAN ids"},
        {"resource": "subnets", "total": found["subnets"]["total"],
         "held": found["subnets"]["used"], "free": found["subnets"]["free"], "unit": "/24s"},
    ]


@app.command()
def capacity(ref: str):
    """CPU, memory, storage, VLAN ids and subnets: total, held by zPods, free."""
    with api() as client:
        found = client.endpoint_capacity(ref)
    if state.out.fmt != "table":
        state.out.data(found)
        return
    state.out.table(capacity_rows(found), CAPACITY,
                    title=f"{found['endpoint']}: cluster {found['cluster']}, "
                          f"datastore {found['datastore']}")
    if found["known"]:
        state.out.say(f"vCenter figures read at {found['read_at']}")
    else:
        state.out.say("capacity unknown: verify the endpoint (`nestlab endpoints verify "
                      f"{ref}`)")
