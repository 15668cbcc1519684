"""Calling a page's Dash callback over real HTTP, as the browser does: the callback is found in
the server's own ``/_dash-dependencies`` answer and posted to ``/_dash-update-component`` with a
signed-in ``requests`` session."""

from __future__ import annotations


def call(session, url: str, output: str, values: dict, *, page: str, changed: str | None = None):
    """Post the callback whose outputs include ``output`` (``"id.property"``) on the server at
    ``url``; ``values``: ``"id.property"`` -> value for its inputs and states (absent: None).
    ``page``: the page it belongs to (opened first, as a browser would). Returns the response."""
    session.get(f"{url}{page}", timeout=30)
    deps = session.get(f"{url}/_dash-dependencies", timeout=30).json()
    found = [d for d in deps if output in d["output"].strip(".").split("...")]
    assert len(found) == 1, f"{len(found)} callbacks output {output}"
    cb = found[0]
    key = cb["output"]
    outputs = [
        dict(zip(("id", "property"), p.rsplit(".", 1), strict=True))
        for p in key.strip(".").split("...")
    ]

    def given(items):
        return [
            dict(i, value=values.get(f"{i['id']}.{i['property']}"))
            for i in items
            if isinstance(i["id"], str)
        ]

    first = cb["inputs"][0]
    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": given(cb["inputs"]),
        "state": given(cb.get("state", [])),
        "changedPropIds": [changed or f"{first['id']}.{first['property']}"],
    }
    return session.post(f"{url}/_dash-update-component", json=body, timeout=60)
