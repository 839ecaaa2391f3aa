"""Read-only catalogue queries. Every list eager-loads what its page shows (no N+1)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from equipshare.catalogue.models import (
    BookingMode,
    Category,
    Institution,
    Instrument,
    InstrumentStatus,
    Lab,
)
from equipshare.extensions import db

SORTS = ("name", "institution")
MAX_ID = 2**31 - 1  # ids are 32-bit integers; larger numbers in a URL match nothing
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 100
SEARCH_COLUMNS = (
    Instrument.name_zh,
    Instrument.name_en,
    Instrument.model,
    Instrument.manufacturer,
    Instrument.description_zh,
    Instrument.description_en,
)


def valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def clamp_page(page: int | None) -> int:
    return min(max(page or 1, 1), MAX_PAGE)


@dataclass(frozen=True)
class CatalogueFilters:
    q: str = ""
    category_id: int | None = None
    institution_id: int | None = None
    lab_id: int | None = None
    mode: str | None = None
    sort: str = "name"

    @classmethod
    def clean(cls, q=None, category_id=None, institution_id=None, lab_id=None, mode=None, sort=None):
        """Normalise untrusted values: control characters dropped, unknown values ignored."""
        text = "".join(ch for ch in (q or "") if ch.isprintable() or ch == " ")
        text = " ".join(text.split())[:MAX_QUERY_LENGTH]
        return cls(
            q=text,
            category_id=category_id if valid_id(category_id) else None,
            institution_id=institution_id if valid_id(institution_id) else None,
            lab_id=lab_id if valid_id(lab_id) else None,
            mode=mode if mode in {m.value for m in BookingMode} else None,
            sort=sort if sort in SORTS else "name",
        )

    @classmethod
    def from_args(cls, args) -> CatalogueFilters:
        """From a request's query string (a werkzeug MultiDict): ?q=&category=&institution=&lab=&mode=&sort="""
        return cls.clean(
            q=args.get("q", ""),
            category_id=args.get("category", type=int),
            institution_id=args.get("institution", type=int),
            lab_id=args.get("lab", type=int),
            mode=args.get("mode"),
            sort=args.get("sort"),
        )

    def as_args(self) -> dict:
        """Query-string arguments that reproduce these filters (for pagination links)."""
        args = {"q": self.q, "category": self.category_id, "institution": self.institution_id,
                "lab": self.lab_id, "mode": self.mode, "sort": self.sort if self.sort != "name" else None}
        return {k: v for k, v in args.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.q or self.category_id or self.institution_id or self.lab_id or self.mode)


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _name_columns(lang: str):
    return (Instrument.name_zh, Instrument.name_en) if lang == "zh" else (Instrument.name_en, Instrument.name_zh)


def _eager_list_options():
    return (
        contains_eager(Instrument.lab).contains_eager(Lab.institution),
        joinedload(Instrument.category),
        selectinload(Instrument.rate_cards),
    )


def catalogue_statement(filters: CatalogueFilters, lang: str, *, include_retired: bool = False,
                        lab_ids: set[int] | None = None):
    stmt = (
        select(Instrument)
        .join(Instrument.lab)
        .join(Lab.institution)
        .options(*_eager_list_options())
    )
    if not include_retired:
        stmt = stmt.where(Instrument.status != InstrumentStatus.RETIRED)
    if lab_ids is not None:
        stmt = stmt.where(Instrument.lab_id.in_(lab_ids or {-1}))
    for term in filters.q.split():
        pattern = _like_pattern(term)
        stmt = stmt.where(or_(*(column.ilike(pattern, escape="\\") for column in SEARCH_COLUMNS)))
    if filters.category_id:
        stmt = stmt.where(Instrument.category_id == filters.category_id)
    if filters.institution_id:
        stmt = stmt.where(Lab.institution_id == filters.institution_id)
    if filters.lab_id:
        stmt = stmt.where(Instrument.lab_id == filters.lab_id)
    if filters.mode:
        stmt = stmt.where(Instrument.booking_mode == filters.mode)
    first, second = _name_columns(lang)
    if filters.sort == "institution":
        inst_name = Institution.name_zh if lang == "zh" else Institution.name_en
        stmt = stmt.order_by(inst_name, Institution.id, first, Instrument.id)
    else:
        stmt = stmt.order_by(first, second, Instrument.id)
    return stmt


def search_instruments(filters: CatalogueFilters, lang: str, page: int, per_page: int, **kw):
    """A Flask-SQLAlchemy Pagination of matching instruments. A page past the end is empty."""
    return db.paginate(catalogue_statement(filters, lang, **kw), page=clamp_page(page), per_page=per_page,
                       error_out=False, count=True)


def load_instrument(instrument_id: int) -> Instrument | None:
    """One instrument with everything its page shows."""
    if not valid_id(instrument_id):
        return None
    stmt = (
        select(Instrument)
        .where(Instrument.id == instrument_id)
        .options(
            joinedload(Instrument.lab).joinedload(Lab.institution),
            joinedload(Instrument.category),
            selectinload(Instrument.rate_cards),
        )
    )
    return db.session.scalars(stmt).unique().first()


@dataclass(frozen=True)
class FilterOptions:
    categories: list[Category]
    institutions: list[Institution]
    labs: list[Lab]


def filter_options(lang: str) -> FilterOptions:
    name = "name_zh" if lang == "zh" else "name_en"
    categories = db.session.scalars(select(Category).order_by(Category.sort_order, Category.code)).all()
    institutions = db.session.scalars(select(Institution).order_by(getattr(Institution, name))).all()
    labs = db.session.scalars(
        select(Lab).join(Lab.institution).options(contains_eager(Lab.institution))
        .order_by(getattr(Institution, name), getattr(Lab, name))
    ).all()
    return FilterOptions(list(categories), list(institutions), list(labs))


@dataclass(frozen=True)
class HomeData:
    categories: list[tuple[Category, int]]
    institutions: list[tuple[Institution, int, int]]  # institution, labs, instruments
    featured: list[Instrument]
    instrument_count: int
    lab_count: int


def home_data(lang: str, featured: int = 4) -> HomeData:
    visible = Instrument.status != InstrumentStatus.RETIRED
    categories = db.session.execute(
        select(Category, func.count(Instrument.id))
        .outerjoin(Instrument, and_(Instrument.category_id == Category.id, visible))
        .group_by(Category.id)
        .order_by(Category.sort_order, Category.code)
    ).all()
    name = Institution.name_zh if lang == "zh" else Institution.name_en
    institutions = db.session.execute(
        select(Institution, func.count(func.distinct(Lab.id)), func.count(func.distinct(Instrument.id)))
        .outerjoin(Lab, Lab.institution_id == Institution.id)
        .outerjoin(Instrument, and_(Instrument.lab_id == Lab.id, visible))
        .group_by(Institution.id)
        .order_by(name)
    ).all()
    featured_list = [] if featured <= 0 else db.session.scalars(
        select(Instrument)
        .join(Instrument.lab)
        .join(Lab.institution)
        .options(*_eager_list_options())
        .where(Instrument.status == InstrumentStatus.ACTIVE)
        .order_by(Instrument.photo_filename.is_(None), Instrument.updated_at.desc(), Instrument.id.desc())
        .limit(featured)
    ).all()
    instrument_count = sum(count for _, count in categories)
    lab_count = sum(labs for _, labs, _n in institutions)
    return HomeData(
        categories=[(c, n) for c, n in categories],
        institutions=[(i, labs, n) for i, labs, n in institutions],
        featured=list(featured_list),
        instrument_count=instrument_count,
        lab_count=lab_count,
    )


def admin_counts() -> dict[str, int]:
    from equipshare.accounts.models import Organisation, OrgStatus, User

    def count(stmt) -> int:
        return db.session.scalar(stmt) or 0

    by_status = dict(db.session.execute(
        select(Instrument.status, func.count(Instrument.id)).group_by(Instrument.status)).all())
    return {
        "institutions": count(select(func.count(Institution.id))),
        "labs": count(select(func.count(Lab.id))),
        "categories": count(select(func.count(Category.id))),
        "instruments": sum(by_status.values()),
        "active": by_status.get(InstrumentStatus.ACTIVE, 0),
        "maintenance": by_status.get(InstrumentStatus.MAINTENANCE, 0),
        "retired": by_status.get(InstrumentStatus.RETIRED, 0),
        "orgs_pending": count(select(func.count(Organisation.id)).where(Organisation.status == OrgStatus.PENDING)),
        "users": count(select(func.count(User.id))),
    }


def labs_with_details(lang: str, lab_ids: set[int] | None = None) -> list[Lab]:
    """Labs with institution and managers loaded (admin and manager lists)."""
    name = "name_zh" if lang == "zh" else "name_en"
    stmt = (
        select(Lab).join(Lab.institution)
        .options(contains_eager(Lab.institution), selectinload(Lab.managers))
        .order_by(getattr(Institution, name), getattr(Lab, name))
    )
    if lab_ids is not None:
        stmt = stmt.where(Lab.id.in_(lab_ids or {-1}))
    return list(db.session.scalars(stmt).all())


def load_lab(lab_id: int) -> Lab | None:
    if not valid_id(lab_id):
        return None
    return db.session.scalars(
        select(Lab).where(Lab.id == lab_id).options(joinedload(Lab.institution), selectinload(Lab.managers))
    ).first()
