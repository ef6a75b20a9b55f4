"""Notice rendering: `templates/mail/<lang>/<kind>.{subject,txt,html}.j2` with StrictUndefined.

Applicant-supplied text is never marked safe; HTML templates (`.html.j2`) autoescape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.exceptions import UndefinedError

from sangsaeng.config import ProgramConfig
from sangsaeng.errors import ConfigError
from sangsaeng.mail import wording
from sangsaeng.mail.attachments import Attachment

# ARCHITECTURE's notice table: every kind has a subject, a text and an HTML template.
KINDS: tuple[str, ...] = tuple(wording.KINDS)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Rendered:
    """What the recipient will read: one-line subject, plain text, HTML alternative, and
    the files sent with it (the notice's, not the template's: `render` never sets them)."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def make_environment(templates_dir: Path) -> Environment:
    """Jinja2 for notices: StrictUndefined; autoescape that also covers `.html.j2` (FIELD_NOTES)."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"),
                                     default_for_string=True, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates do not change under a running process: no stat per render
    )
    env.filters.update(wording.FILTERS)
    return env


class Renderer:
    """Renders one notice kind with a payload, plus the sender's identity from program.toml."""

    def __init__(self, templates_dir: Path, program: ProgramConfig, lang: str = "ko") -> None:
        self.env = make_environment(templates_dir)
        self.lang = lang
        info = program.program
        self.sender = {"program_name": info.name, "ministry": info.ministry,
                       "office_name": info.office_name, "email": info.office_email,
                       "phone": info.office_phone}
        self.tracks = {key: track.name for key, track in program.tracks.items()}
        self.criteria = {c.key: c.name for c in program.criteria}

    def render(self, kind: str, payload: Mapping[str, Any], *, recipient_name: str) -> Rendered:
        """The notice as the recipient will read it; a missing value is an error, never blank."""
        context = {**payload, "kind": kind, "recipient_name": recipient_name,
                   "sender": self.sender, "track_names": self.tracks,
                   "criterion_names": self.criteria}
        base = f"mail/{self.lang}/{kind}"
        try:
            subject = self.env.get_template(f"{base}.subject.j2").render(context)
            text = self.env.get_template(f"{base}.txt.j2").render(context)
            html = self.env.get_template(f"{base}.html.j2").render(context)
        except TemplateNotFound as exc:
            raise ConfigError(f"no template {exc.name} for notice kind {kind!r}") from None
        except UndefinedError as exc:
            raise ConfigError(f"notice {kind!r}: {exc.message}") from None
        return Rendered(subject=_SPACES.sub(" ", subject).strip(), text=text, html=html)


@lru_cache(maxsize=4)
def renderer_for(templates_dir: Path, config_dir: Path, lang: str = "ko") -> Renderer:
    """A cached renderer for a templates folder and program configuration."""
    from sangsaeng.config import load_program

    return Renderer(templates_dir, load_program(config_dir), lang)
