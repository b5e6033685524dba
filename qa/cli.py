"""`flask --app qa events …`: the organiser's operations for scripted set-ups, each printing the links.

A change reaches the running servers' sockets as one made in the console does, through
QA_MESSAGE_QUEUE (qa/web/event_changes.py); without a queue this process has no one to tell.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import schema
from .domain import events as events_domain
from .domain import organiser
from .domain.errors import DomainError
from .extensions import db
from .links import event_links
from .web.event_changes import event_changed

events = AppGroup("events", help="Create, edit, list, open, close, archive and delete events; each prints the links.")

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def init_app(app: Flask) -> None:
    app.cli.add_command(events)


def base_url_option(fn: Callable) -> Callable:
    return click.option(
        "--base-url", envvar="QA_BASE_URL", default=DEFAULT_BASE_URL, show_default=True,
        help="Where participants reach the server, for the printed links (env QA_BASE_URL).",
    )(fn)


def json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (with the links) instead of text.")(fn)


def _session():
    schema.upgrade(db.engine)  # a fresh database works too, as with run.py
    return db.session


def _links(base_url: str, summary: dict) -> dict:
    with current_app.test_request_context(base_url=base_url.rstrip("/")):
        return event_links(summary["code"], summary["moderator_token"])


def _print_event(summary: dict, links: dict) -> None:
    counts = summary["counts"]
    click.echo(f"{summary['code']}  [{summary['status']}]  {summary['title']}")
    if summary["starts_at"]:
        click.echo(f"  starts:      {summary['starts_at']}")
    click.echo(f"  questions:   {counts['pending']} awaiting moderation, {counts['approved']} published, "
               f"{counts['answered']} answered, {counts['rejected']} not published")
    click.echo(f"  participant: {links['participant']}")
    click.echo(f"  moderator:   {links['moderator']}")
    click.echo(f"  screen:      {links['screen']}")


def _output(summary: dict, base_url: str, as_json: bool, headline: str | None = None) -> None:
    links = _links(base_url, summary)
    if as_json:
        click.echo(json.dumps({**summary, "links": links}, ensure_ascii=False, indent=1))
        return
    if headline:
        click.echo(headline)
    _print_event(summary, links)


def _domain(fn: Callable[[], Any]) -> Any:
    """Run a domain call; its refusal becomes a one-line error and exit status 1."""
    try:
        return fn()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None


def _find(code: str):
    return _domain(lambda: events_domain.find_event(_session(), code))


def _theme(value: str) -> dict:
    label, _, prompt = value.partition("|")
    return {"label": label.strip(), "prompt": prompt.strip()}


def _starts_at(value: str | None) -> str | None:
    """ISO-8601; without a time zone it is this machine's local time."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return value  # the domain's message says how to write it
    return (when if when.tzinfo else when.astimezone()).isoformat()


def _json_file(handle, option: str) -> Any:
    try:
        return json.load(handle)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None


def translation_options(fn: Callable) -> Callable:
    """The title's French and Spanish, and the whole translations object as in the HTTP API."""
    fn = click.option("--translations-json", type=click.File("r"),
                      help='Translations as in the HTTP API: {"fr": {"title", "themes": {key: {"label", '
                           '"prompt"}}}, "es": …} (\'-\': stdin). A theme in --themes-json may carry its own.')(fn)
    fn = click.option("--title-es", help="The title in Spanish.")(fn)
    return click.option("--title-fr", help="The title in French.")(fn)


def _translations(title_fr: str | None, title_es: str | None, handle) -> dict:
    """{"translations": …} from the options, or nothing when none was given."""
    texts: Any = _json_file(handle, "--translations-json") if handle is not None else {}
    if not isinstance(texts, dict):
        raise click.BadParameter("must be a JSON object keyed by language", param_hint="--translations-json")
    for lang, title in (("fr", title_fr), ("es", title_es)):
        if title is not None:
            entry = texts.get(lang)
            texts[lang] = {**(entry if isinstance(entry, dict) else {}), "title": title}
    return {"translations": texts} if texts else {}


@events.command("create")
@click.argument("title")
@click.option("--description", default="", help="A short description.")
@click.option("--starts-at", help="Date and time, e.g. 2026-12-01T14:00 (local time) or 2026-12-01T13:00Z.")
@click.option("--theme", "themes", multiple=True, metavar="'LABEL | GUIDING QUESTION'",
              help="A theme; repeat for several, in order (default: the four default themes).")
@click.option("--themes-json", type=click.File("r"), help="Themes as a JSON list, as in the HTTP API ('-': stdin).")
@click.option("--moderation", type=click.Choice(["pre", "post"]), default="pre", show_default=True)
@click.option("--names", type=click.Choice(list(organiser.NAMES_POLICIES)), default="optional", show_default=True)
@click.option("--open", "open_now", is_flag=True, help="Open for questions now (default: a draft).")
@translation_options
@base_url_option
@json_option
def create(title, description, starts_at, themes, themes_json, moderation, names, open_now, title_fr, title_es,
           translations_json, base_url, as_json):
    """Create an event and print its code and links."""
    theme_list: Any = [_theme(t) for t in themes] or None
    if themes_json is not None:
        theme_list = _json_file(themes_json, "--themes-json")
    payload = {"title": title, "description": description, "starts_at": _starts_at(starts_at),
               "themes": theme_list, "moderation": moderation, "names": names, "submissions_open": open_now}
    payload.update(_translations(title_fr, title_es, translations_json))
    session = _session()
    event = _domain(lambda: organiser.create_event(session, payload))
    _output(organiser.describe(session, event), base_url, as_json, f"Created event {event.code}:")


@events.command("edit")
@click.argument("code")
@click.option("--title", help="A new title.")
@click.option("--description", help="A new description ('' clears it).")
@click.option("--starts-at", help="A new date and time ('' clears it).")
@click.option("--themes-json", type=click.File("r"),
              help="The whole theme list as a JSON list, as in the HTTP API (kept keys keep their questions).")
@click.option("--moderation", type=click.Choice(["pre", "post"]))
@click.option("--names", type=click.Choice(list(organiser.NAMES_POLICIES)))
@translation_options
@base_url_option
@json_option
def edit(code, title, description, starts_at, themes_json, moderation, names, title_fr, title_es, translations_json,
         base_url, as_json):
    """Change an event's title, description, date, themes, moderation, names or translations."""
    payload: dict[str, Any] = {k: v for k, v in (("title", title), ("description", description),
                                                 ("moderation", moderation), ("names", names)) if v is not None}
    if starts_at is not None:
        payload["starts_at"] = _starts_at(starts_at) or ""
    if themes_json is not None:
        payload["themes"] = _json_file(themes_json, "--themes-json")
    payload.update(_translations(title_fr, title_es, translations_json))
    _change(code, base_url, as_json, lambda s, eid: organiser.edit_event(s, eid, payload), "Saved")


@events.command("list")
@click.option("--archived", is_flag=True, help="Include archived events.")
@base_url_option
@json_option
def list_(archived, base_url, as_json):
    """List events with their status, question counts and links."""
    items = organiser.list_events(_session(), include_archived=archived)
    if as_json:
        click.echo(json.dumps([{**s, "links": _links(base_url, s)} for s in items], ensure_ascii=False, indent=1))
        return
    if not items:
        click.echo("No events yet: flask --app qa events create 'Title'")
    for summary in items:
        _print_event(summary, _links(base_url, summary))


def _change_command(name: str, help: str, apply: Callable[[Any, int], Any], headline: str) -> Callable:
    """`events NAME CODE`: an organiser's change to the event; its sockets are told, it is printed with its links."""

    @events.command(name, help=help)
    @click.argument("code")
    @base_url_option
    @json_option
    def command(code, base_url, as_json):
        _change(code, base_url, as_json, apply, headline)

    return command


def _change(code: str, base_url: str, as_json: bool, apply: Callable[[Any, int], Any], headline: str) -> None:
    event = _domain(lambda: apply(db.session, _find(code).id))
    event_changed(event, "updated")
    _output(organiser.describe(db.session, event), base_url, as_json, f"{headline} {event.code}:")


open_ = _change_command("open", "Open an event for questions.",
                        lambda s, eid: organiser.set_submissions(s, eid, True), "Questions are open for")
close = _change_command("close", "Close an event for questions (they can still be read and voted on).",
                        lambda s, eid: organiser.set_submissions(s, eid, False), "Questions are closed for")
archive = _change_command("archive", "Archive (and close) an event.", organiser.archive_event, "Archived")


@events.command("delete")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask; delete at once.")
@base_url_option
def delete(code, yes, base_url):
    """Delete an event with every question, vote and history row in it, for good."""
    event = _find(code)
    session = db.session
    summary = organiser.describe(session, event)
    rows = organiser.rows_of(session, event.id)
    links = _links(base_url, summary)
    click.echo(f"{event.code}  “{event.title}”: {rows['questions']} questions, {rows['votes']} votes.")
    confirm = event.code
    if not yes:
        confirm = click.prompt(f"This cannot be undone. Type the code {event.code} to delete it", default="",
                               show_default=False)
    event_id = event.id
    deleted = _domain(lambda: organiser.delete_event(session, event_id, confirm))
    event_changed(event_id, "deleted")
    click.echo(f"Deleted {summary['code']} with {deleted['questions']} questions, {deleted['votes']} votes "
               f"and {deleted['history']} history entries. These links no longer work:")
    click.echo(f"  participant: {links['participant']}")
    click.echo(f"  moderator:   {links['moderator']}")
    click.echo(f"  screen:      {links['screen']}")
