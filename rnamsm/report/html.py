"""Jinja2 rendering of self-contained report pages.

Templates, CSS and JavaScript are package data under ``rnamsm/report/templates/``. Autoescaping is
on for everything; the only markup passed through unescaped is the package's own CSS and JS, which
the page's Content-Security-Policy pins by SHA-256, so no other script or style can run even if
escaping were bypassed. Pages load nothing from the network.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from rnamsm import __version__
from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError

TEMPLATE_PACKAGE = "rnamsm.report"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _asset(name: str) -> str:
    return resources.files(TEMPLATE_PACKAGE).joinpath("templates", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def generation_time() -> str:
    """UTC generation time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        moment = datetime.datetime.now(datetime.timezone.utc)
    else:
        try:
            moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        except (ValueError, OverflowError, OSError) as error:
            raise RnamsmError(f"SOURCE_DATE_EPOCH: not a Unix time: {epoch!r}") from error
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def render_page(template: str, context: dict[str, Any], generated: str, script: str | None = None) -> str:
    """The page ``template`` rendered with ``context``, the shared CSS (and the named JS asset).

    ``generated`` is the generation time shown in the header (see :func:`generation_time`).
    """
    css = _asset("report.css")
    js = _asset(script) if script else None
    script_src = _csp_hash(js) if js else "'none'"
    policy = (
        "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; "
        f"style-src {_csp_hash(css)}; script-src {script_src}"
    )
    return _environment().get_template(template).render(
        **context,
        css=Markup(css),
        js=Markup(js) if js else None,
        csp=policy,
        generated=generated,
        version=__version__,
    )


def write_page(template: str, out: Path, context: dict[str, Any], generated: str, script: str | None = None) -> None:
    """Write the page :func:`render_page` gives to ``out``."""
    page = render_page(template, context, generated, script)
    with atomic_open(out, "w") as handle:
        handle.write(page)
