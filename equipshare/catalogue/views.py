from flask import Blueprint

bp = Blueprint("catalogue", __name__)


@bp.route("/")
def home():
    return "EquipShare"
