"""Platform administration: dashboard, institutions, labs and managers, categories, seeding."""

from __future__ import annotations

import pytest

from equipshare.catalogue.categories import NATIONAL_CATEGORIES
from equipshare.catalogue.models import Category, Institution, Lab
from equipshare.extensions import db
from tests.factories import (
    login,
    make_admin,
    make_category,
    make_institution,
    make_instrument,
    make_org,
    make_user,
)


@pytest.fixture()
def admin(client):
    user = make_admin()
    db.session.commit()
    login(client, user)
    return user


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_dashboard_counts_and_shortcuts(client, app, admin):
    make_instrument()
    make_org(status="pending")
    make_org(status="pending")
    db.session.commit()
    response = client.get("/admin")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 organisations are waiting for approval" in html
    if "admin_orgs.list" in app.view_functions:
        assert "/admin/organisations?status=pending" in html
    if "billing_admin.vouchers_index" in app.view_functions:
        assert "/admin/billing/vouchers" in html
    for link in ("/admin/institutions", "/admin/labs", "/admin/categories", "/admin/instruments",
                 "/manage/instruments/new"):
        assert link in html


def test_admin_creates_and_edits_an_institution(client, admin):
    data = {"name_zh": "临沂科技职业学院", "name_en": "Linyi Vocational College of Science and Technology",
            "kind": "college", "city": "临沂", "address": "", "website": "https://www.example.edu.cn/",
            "description": ""}
    response = client.post("/admin/institutions/new", data=data)
    assert response.status_code == 302
    institution = db.session.scalar(db.select(Institution))
    assert institution.kind == "college" and institution.address is None
    assert institution.website == "https://www.example.edu.cn/"
    response = client.post(f"/admin/institutions/{institution.id}/edit", data={**data, "kind": "institute"})
    assert response.status_code == 302
    db.session.refresh(institution)
    assert institution.kind == "institute"
    assert "临沂科技职业学院" in client.get("/admin/institutions").get_data(as_text=True)


@pytest.mark.parametrize("overrides, field", [
    ({"website": "javascript:alert(1)"}, "website"),
    ({"website": "ftp://example.com"}, "website"),
    ({"website": "//evil.example"}, "website"),
    ({"name_zh": "临沂\x00大学"}, "name_zh"),
    ({"name_en": "A" * 201}, "name_en"),
    ({"description": "x" * 5001}, "description"),
    ({"kind": "company"}, "kind"),
    ({"name_zh": ""}, "name_zh"),
])
def test_bad_institution_input_is_refused_and_nothing_written(client, admin, overrides, field):
    data = {"name_zh": "临沂大学", "name_en": "Linyi University", "kind": "university", "city": "临沂", **overrides}
    response = client.post("/admin/institutions/new", data=data)
    assert response.status_code == 422
    assert f'id="{field}-err"' in response.get_data(as_text=True)
    assert count(Institution) == 0


def test_duplicate_institution_name_is_a_form_error(client, admin):
    existing = make_institution(name_zh="临沂大学")
    other = make_institution(name_zh="山东医专")
    db.session.commit()
    data = {"name_zh": "临沂大学", "name_en": "Again", "kind": "university", "city": "临沂"}
    response = client.post("/admin/institutions/new", data=data)
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)
    response = client.post(f"/admin/institutions/{other.id}/edit", data=data)
    assert response.status_code == 422
    # Saving an institution under its own name is fine.
    response = client.post(f"/admin/institutions/{existing.id}/edit", data={**data, "name_en": "Linyi U"})
    assert response.status_code == 302
    assert count(Institution) == 2


def test_admin_creates_lab_and_assigns_and_removes_managers(client, admin):
    institution = make_institution()
    person = make_user(email="Zhang.Wei@example.com")
    db.session.commit()
    data = {"institution_id": str(institution.id), "name_zh": "分析测试中心", "name_en": "Analysis Centre",
            "location": "Building C", "contact_name": "张老师", "contact_phone": "0539-8888888",
            "contact_email": "atc@example.edu.cn", "description": ""}
    response = client.post("/admin/labs/new", data=data)
    assert response.status_code == 302
    lab = db.session.scalar(db.select(Lab))
    assert lab.contact_email == "atc@example.edu.cn" and lab.description is None

    response = client.post(f"/admin/labs/{lab.id}/managers", data={"email": "  zhang.wei@EXAMPLE.com "})
    assert response.status_code == 302
    db.session.refresh(lab)
    assert [u.id for u in lab.managers] == [person.id]
    assert "Zhang.Wei@example.com".lower() in client.get(f"/admin/labs/{lab.id}/edit").get_data(as_text=True).lower()

    again = client.post(f"/admin/labs/{lab.id}/managers", data={"email": "zhang.wei@example.com"})
    assert again.status_code == 422 and "already manages" in again.get_data(as_text=True)
    unknown = client.post(f"/admin/labs/{lab.id}/managers", data={"email": "nobody@example.com"})
    assert unknown.status_code == 422 and "No user has this e-mail" in unknown.get_data(as_text=True)
    bad = client.post(f"/admin/labs/{lab.id}/managers", data={"email": "not-an-email"})
    assert bad.status_code == 422

    response = client.post(f"/admin/labs/{lab.id}/managers/{person.id}/remove")
    assert response.status_code == 302
    db.session.refresh(lab)
    assert lab.managers == []
    # Removing someone who is not a manager is a message, not an error page.
    assert client.post(f"/admin/labs/{lab.id}/managers/{person.id}/remove").status_code == 302


def test_bad_lab_input_is_refused(client, admin):
    institution = make_institution()
    db.session.commit()
    base = {"institution_id": str(institution.id), "name_zh": "实验室", "name_en": "Lab"}
    for overrides in ({"institution_id": "999999"}, {"contact_email": "nope"}, {"name_en": "\x00"},
                      {"contact_phone": "1" * 41}):
        assert client.post("/admin/labs/new", data={**base, **overrides}).status_code == 422
    assert count(Lab) == 0
    assert client.get("/admin/labs/999999/edit").status_code == 404


def test_admin_category_crud(client, admin):
    response = client.post("/admin/categories/new", data={"code": "99", "name_zh": "测试类", "name_en": "Test class",
                                                          "sort_order": "5"})
    assert response.status_code == 302
    category = db.session.scalar(db.select(Category).where(Category.code == "99"))
    assert category.sort_order == 5
    response = client.post(f"/admin/categories/{category.id}/edit",
                           data={"code": "99", "name_zh": "改名", "name_en": "Renamed", "sort_order": "6"})
    assert response.status_code == 302
    db.session.refresh(category)
    assert category.name_zh == "改名"
    dup = client.post("/admin/categories/new", data={"code": "99", "name_zh": "x", "name_en": "x", "sort_order": "0"})
    assert dup.status_code == 422 and "already exists" in dup.get_data(as_text=True)
    bad = client.post("/admin/categories/new", data={"code": "a b<", "name_zh": "x", "name_en": "x", "sort_order": "0"})
    assert bad.status_code == 422
    assert count(Category) == 1


def test_load_national_classification_from_admin_is_idempotent(client, admin):
    renamed = make_category(code="01", name_zh="分析类仪器（本地）", name_en="Analysis (local)")
    db.session.commit()
    assert client.post("/admin/categories/seed").status_code == 302
    assert count(Category) == len(NATIONAL_CATEGORIES)
    db.session.refresh(renamed)
    assert renamed.name_zh == "分析类仪器（本地）"  # an admin's edit is kept
    assert client.post("/admin/categories/seed").status_code == 302
    assert count(Category) == len(NATIONAL_CATEGORIES)
    html = client.get("/admin/categories").get_data(as_text=True)
    assert "激光器" in html and "Nuclear instruments" in html


def test_admin_instrument_list_shows_retired_and_filters_by_status(client, admin):
    active = make_instrument(name_en="Active one")
    retired = make_instrument(name_en="Retired one", status="retired")
    db.session.commit()
    client.get("/lang/en")
    html = client.get("/admin/instruments").get_data(as_text=True)
    assert "Active one" in html and "Retired one" in html
    html = client.get("/admin/instruments?status=retired").get_data(as_text=True)
    assert "Retired one" in html and "Active one" not in html
    assert f"/manage/instruments/{retired.id}/edit" in html
    assert client.get(f"/instruments/{retired.id}").status_code == 200  # admins still see it
    assert active.id


def test_huge_ids_are_404_for_admin_pages(client, admin):
    huge = "9" * 30
    for url in (f"/admin/institutions/{huge}/edit", f"/admin/labs/{huge}/edit", f"/admin/categories/{huge}/edit",
                f"/manage/instruments/{huge}/edit"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/admin/instruments?page={huge}&lab={huge}").status_code == 200
