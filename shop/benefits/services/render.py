"""The statement as an HTML page (members via their private link; staff see all)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shop.benefits.schemas import StatementOut
from shop.benefits.services.pdf import KIND_LABEL
from shop.benefits.services.statements import KIND_ZH
from shop.money import format_yuan

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render_html(st: StatementOut, pdf_url: str | None = None) -> str:
    template = environment().get_template("statement.html")
    return template.render(
        st=st,
        kinds=KIND_ZH,
        yuan=format_yuan,
        pdf_url=pdf_url,
        kind_label=KIND_LABEL.get(st.member_kind.value, st.member_kind.value),
    )
