"""Who may open which manage/admin page: anonymous, client, manager of another lab, manager, admin."""

from __future__ import annotations

import pytest

from equipshare.extensions import db
from tests.factories import (
    login,
    make_admin,
    make_category,
    make_client_user,
    make_instrument,
    make_lab,
    make_manager,
    make_user,
)


@pytest.fixture()
def world():
    lab_a, lab_b = make_lab(), make_lab()
    instrument_a = make_instrument(lab_a)
    someone = make_user()
    lab_a.managers.append(someone)
    category = make_category()
    people = {
        "anonymous": None,
        "client": make_client_user(),
        "manager_b": make_manager(lab_b),
        "manager_a": make_manager(lab_a),
        "admin": make_admin(),
    }
    db.session.commit()
    return {"lab": lab_a, "instrument": instrument_a, "someone": someone, "category": category,
            "institution": lab_a.institution, **people}


def routes(w):
    i, lab = w["instrument"].id, w["lab"].id
    return {
        # (method, url): who may (others: anonymous → login redirect, the rest → 403)
        ("GET", "/manage/instruments"): {"manager_a", "manager_b", "admin"},
        ("GET", "/manage/instruments/new"): {"manager_a", "manager_b", "admin"},
        ("GET", f"/manage/instruments/{i}/edit"): {"manager_a", "admin"},
        ("POST", f"/manage/instruments/{i}/edit"): {"manager_a", "admin"},
        ("POST", f"/manage/instruments/{i}/status"): {"manager_a", "admin"},
        ("GET", "/admin"): {"admin"},
        ("GET", "/admin/institutions"): {"admin"},
        ("GET", "/admin/institutions/new"): {"admin"},
        ("POST", "/admin/institutions/new"): {"admin"},
        ("GET", f"/admin/institutions/{w['institution'].id}/edit"): {"admin"},
        ("POST", f"/admin/institutions/{w['institution'].id}/edit"): {"admin"},
        ("GET", "/admin/labs"): {"admin"},
        ("GET", "/admin/labs/new"): {"admin"},
        ("POST", "/admin/labs/new"): {"admin"},
        ("GET", f"/admin/labs/{lab}/edit"): {"admin"},
        ("POST", f"/admin/labs/{lab}/edit"): {"admin"},
        ("POST", f"/admin/labs/{lab}/managers"): {"admin"},
        ("POST", f"/admin/labs/{lab}/managers/{w['someone'].id}/remove"): {"admin"},
        ("GET", "/admin/categories"): {"admin"},
        ("GET", "/admin/categories/new"): {"admin"},
        ("POST", "/admin/categories/new"): {"admin"},
        ("GET", f"/admin/categories/{w['category'].id}/edit"): {"admin"},
        ("POST", "/admin/categories/seed"): {"admin"},
        ("GET", "/admin/instruments"): {"admin"},
    }


@pytest.mark.parametrize("who", ["anonymous", "client", "manager_b", "manager_a", "admin"])
def test_authorisation_matrix(make_client, world, who):
    client = make_client()
    if world[who] is not None:
        login(client, world[who])
    for (method, url), allowed in routes(world).items():
        # Empty posts: an allowed user gets a form error or a redirect, never a change of data.
        response = client.get(url) if method == "GET" else client.post(url, data={})
        if who in allowed:
            assert response.status_code in (200, 302, 422), (who, method, url, response.status_code)
            if response.status_code == 302:
                assert "/auth/login" not in response.headers["Location"]
        elif who == "anonymous":
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], (method, url)
        else:
            assert response.status_code == 403, (who, method, url, response.status_code)
    # Nothing the matrix posted changed the instrument, the lab or its managers.
    db.session.expire_all()
    assert world["instrument"].status == "active"
    assert world["someone"] in world["lab"].managers or who == "admin"
