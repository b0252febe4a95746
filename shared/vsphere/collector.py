"""Reading vSphere inventory and waiting for tasks through the PropertyCollector.

One RetrievePropertiesEx over a ContainerView reads many properties of many
objects in a few SOAP calls, where attribute-by-attribute access costs one
call per property. Tasks are first read once (most short tasks are already
finished); only unfinished ones are waited on with WaitForUpdatesEx, never a
polling loop.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable

from pyVmomi import vim, vmodl

from shared.vsphere.errors import TransientError, translate

PC = vmodl.query.PropertyCollector


# ServiceContent per session (keyed by the session's SOAP stub, which is unique
# to it; managed objects themselves are read-only and compare by moref).
_contents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def content(si) -> vim.ServiceInstanceContent:
    """The session's ServiceContent, read once: every `si.content` is a SOAP call."""
    found = _contents.get(si._stub)
    if found is None:
        found = _contents[si._stub] = si.RetrieveContent()
    return found


def _container_filter(si, root, wanted: dict, recursive: bool):
    types = list(wanted)
    view = content(si).viewManager.CreateContainerView(root, types, recursive)
    traversal = PC.TraversalSpec(name="view", path="view", skip=False,
                                 type=vim.view.ContainerView)
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
        propSet=[PC.PropertySpec(type=t, pathSet=props, all=False) for t, props in wanted.items()],
    )
    return view, spec


def _collect(si, spec) -> list:
    pc = content(si).propertyCollector
    result = pc.RetrievePropertiesEx([spec], PC.RetrieveOptions())
    objects = []
    while result:
        objects.extend(result.objects)
        if not result.token:
            break
        result = pc.ContinueRetrievePropertiesEx(result.token)
    return objects


def _as_dict(obj_content) -> dict:
    return {prop.name: prop.val for prop in (obj_content.propSet or [])}


def retrieve(si, root, vimtype, props: list[str], recursive: bool = True) -> list[tuple]:
    """[(managed object, {property: value})] for every `vimtype` under `root`."""
    return retrieve_types(si, root, {vimtype: props}, recursive)


# The property holding the direct children of a container, for one-call lookups.
_CHILDREN = ((vim.Folder, "childEntity"), (vim.ResourcePool, "resourcePool"))


def _children_path(root) -> str | None:
    return next((path for kind, path in _CHILDREN if isinstance(root, kind)), None)


def retrieve_types(si, root, wanted: dict, recursive: bool = True) -> list[tuple]:
    """Like `retrieve`, for several types at once: `wanted` maps type -> properties.

    Direct children of a folder or resource pool are read in one call by
    traversing its children property; anything else goes through a
    ContainerView (three calls: create, read, destroy).
    """
    path = None if recursive else _children_path(root)
    if path is not None:
        traversal = PC.TraversalSpec(name="children", path=path, skip=False, type=type(root))
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=root, skip=True, selectSet=[traversal])],
            propSet=[PC.PropertySpec(type=t, pathSet=props, all=False)
                     for t, props in wanted.items()])
        return [(oc.obj, _as_dict(oc)) for oc in _collect(si, spec)]
    view, spec = _container_filter(si, root, wanted, recursive)
    try:
        return [(oc.obj, _as_dict(oc)) for oc in _collect(si, spec)]
    finally:
        view.DestroyView()


def properties(si, objects: Iterable, vimtype, props: list[str]) -> dict:
    """{managed object id: {property: value}} for known objects, in one call."""
    objects = list(objects)
    if not objects:
        return {}
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj, skip=False) for obj in objects],
        propSet=[PC.PropertySpec(type=vimtype, pathSet=props, all=False)],
    )
    return {oc.obj._moId: _as_dict(oc) for oc in _collect(si, spec)}


def find_by_name(si, root, vimtype, name: str, recursive: bool = True):
    """The objects of `vimtype` named `name` under `root` (vCenter allows duplicates)."""
    return [obj for obj, props in retrieve(si, root, vimtype, ["name"], recursive)
            if props.get("name") == name]


def _task_outcome(info: dict):
    state = info.get("info.state")
    if state == vim.TaskInfo.State.error:
        raise info.get("info.error") or vmodl.fault.SystemError(msg="task failed")
    return state == vim.TaskInfo.State.success


def wait_for_tasks(si, tasks: list, action: str, timeout: float = 600.0) -> dict:
    """Wait until every task succeeds; raise the translated fault of the first that fails.

    Returns {task moref: result} (e.g. the VM a CreateVM task made), read with the
    tasks' states at no extra call.
    """
    props = ["info.state", "info.error", "info.result"]
    try:
        current = properties(si, tasks, vim.Task, props)
        pending = [t for t in tasks if not _task_outcome(current[t._moId])]
        if pending:
            done = watch(si, pending, vim.Task, props, _task_outcome, timeout)
            if len(done) < len(pending):
                raise TransientError(f"vCenter tasks still running after {timeout:.0f}s")
            current.update(done)
    except Exception as exc:  # noqa: BLE001 - translated into a typed error
        raise translate(exc, action) from exc
    return {moref: state.get("info.result") for moref, state in current.items()}


def wait_for_value(si, objects: list, vimtype, path: str, value, timeout: float) -> list:
    """Wait until property `path` of every object equals `value`, at most `timeout`
    seconds; return the objects that did not get there (e.g. VMs still powered on)."""
    done = watch(si, objects, vimtype, [path], lambda state: state.get(path) == value, timeout)
    return [obj for obj in objects if obj._moId not in done]


def watch(si, objects: list, vimtype, props: list[str], settled, timeout: float) -> dict:
    """Follow `props` of `objects` with WaitForUpdatesEx until `settled(values)` holds
    for each, at most `timeout` seconds; return {moref: values} of the settled ones.

    The first update carries the current values, so objects already settled
    cost nothing more; after that the call blocks server-side until something
    changes, never a polling loop.
    """
    if not objects:
        return {}
    pc = content(si).propertyCollector
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj, skip=False) for obj in objects],
        propSet=[PC.PropertySpec(type=vimtype, pathSet=props, all=False)],
    )
    object_filter = pc.CreateFilter(spec, True)
    pending = {obj._moId: {} for obj in objects}
    done = {}
    deadline = time.monotonic() + timeout
    version = ""
    try:
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            options = PC.WaitOptions(maxWaitSeconds=max(1, int(min(remaining, 60))))
            update = pc.WaitForUpdatesEx(version, options)
            if update is None:
                continue
            version = update.version
            for filter_set in update.filterSet or []:
                for change in filter_set.objectSet or []:
                    state = pending.get(change.obj._moId)
                    if state is None:
                        continue
                    state.update({c.name: c.val for c in change.changeSet or []})
                    if settled(state):
                        done[change.obj._moId] = pending.pop(change.obj._moId)
    finally:
        object_filter.Destroy()
    return done


def properties_by_type(si, objects: Iterable, wanted: dict) -> dict:
    """Like `properties`, for objects of several types in one call: `wanted` maps
    type -> properties. {managed object id: {property: value}}."""
    objects = list(objects)
    if not objects:
        return {}
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj, skip=False) for obj in objects],
        propSet=[PC.PropertySpec(type=t, pathSet=props, all=False) for t, props in wanted.items()],
    )
    return {oc.obj._moId: _as_dict(oc) for oc in _collect(si, spec)}
