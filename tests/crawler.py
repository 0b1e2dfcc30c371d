"""A small crawler for the crawl tests: follows every link of the site as a browser would (a
few pages of each URL shape), then submits each form it found with the values a browser would
send — the defaults, the first option, a checked box, a file for a file field, the first submit
button's name — and filler for what is required and empty."""
from __future__ import annotations

import io
import itertools
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import lxml.html

from tests.conftest import PASSWORD

SKIP_PATHS = ("/signout",)  # signing out would end the crawl (and every session of its user)
STATIC = ("/static/",)
_DIGITS = re.compile(r"\d+")
_counter = itertools.count(1)


def shape(url: str) -> str:
    """What makes two URLs "the same kind of page": the path with numbers as N, and the names
    (not the values) of the query arguments."""
    parts = urlsplit(url)
    names = sorted({name for name, _value in parse_qsl(parts.query, keep_blank_values=True)})
    return _DIGITS.sub("N", parts.path) + ("?" + "&".join(names) if names else "")


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: list[tuple[str, object]]

    @property
    def shape(self) -> str:
        return f"{self.method} {shape(self.action)} " + ",".join(
            sorted({name for name, _value in self.fields}))


@dataclass
class CrawlResult:
    pages: int = 0
    forms: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # 5xx, with where and what was sent


def _filler(name: str, kind: str) -> object:
    number = next(_counter)
    if kind == "email" or "email" in name:
        return f"crawler{number}@example.org"
    if kind == "password" or name in ("password", "current", "new"):
        return PASSWORD
    if kind == "date" or name.endswith("date") or name in ("opens", "closes"):
        return "2024-05-0" + str(1 + number % 9)
    if kind == "url" or name in ("source_url", "website"):
        return "https://example.org/page"
    if kind == "number" or name.endswith("_minutes"):
        return "30"
    if kind == "time" or name == "start_time":
        return "09:30"
    if kind == "file":
        return (io.BytesIO(f"Crawled file {number}: commune council budget".encode()),
                f"crawled-{number}.txt")
    return f"Crawled {name} {number} ក្រុមប្រឹក្សាឃុំ"


def _fields_of(form) -> list[tuple[str, object]]:
    values: list[tuple[str, object]] = []
    submit_taken = False
    for element in form.iter("input", "select", "textarea", "button"):
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        tag = element.tag
        kind = (element.get("type") or ("submit" if tag == "button" else "text")).lower()
        if tag == "button" or kind in ("submit", "image"):
            if not submit_taken:  # the button a person clicks first
                values.append((name, element.get("value", "")))
                submit_taken = True
            continue
        if tag == "select":
            options = element.findall(".//option")
            chosen = [o for o in options if o.get("selected") is not None] or options[:1]
            for option in chosen:
                values.append((name, option.get("value", option.text_content())))
            continue
        if tag == "textarea":
            text = element.text_content()
            values.append((name, text or (_filler(name, "text") if element.get("required")
                                          is not None else "")))
            continue
        if kind in ("checkbox", "radio"):
            if element.get("checked") is not None:
                values.append((name, element.get("value", "on")))
            continue
        if kind == "file":
            values.append((name, _filler(name, "file")))
            continue
        value = element.get("value", "")
        if not value and (element.get("required") is not None or kind in ("email", "password")):
            value = _filler(name, kind)
        values.append((name, value))
    # Radio groups with nothing checked: a person picks the first.
    for name in {e.get("name") for e in form.iter("input") if e.get("type") == "radio"}:
        if name and all(n != name for n, _v in values):
            first = next(e for e in form.iter("input") if e.get("name") == name)
            values.append((name, first.get("value", "on")))
    return values


def _same_site(base: str, href: str) -> str | None:
    if not href or href.startswith(("mailto:", "tel:", "javascript:", "#")):
        return None
    url = urljoin(base, href)
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if path.startswith(SKIP_PATHS):
        return None
    return path


def crawl(client, start: list[str], per_shape: int = 2, max_pages: int = 600,
          submit_forms: bool = True, per_form_shape: int = 1) -> CrawlResult:
    result = CrawlResult()
    queue, seen, shapes = deque(start), set(), Counter()
    forms: list[Form] = []
    static_checked = 0
    while queue and result.pages < max_pages:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        if url.startswith(STATIC):
            if static_checked >= 5:  # a few assets: they come from the same folder
                continue
            static_checked += 1
        elif shapes[shape(url)] >= per_shape:
            continue
        shapes[shape(url)] += 1
        response = client.get(url)
        result.pages += 1
        result.statuses[response.status_code] += 1
        if response.status_code >= 500:
            result.failures.append(f"GET {url} -> {response.status_code}")
            continue
        if response.status_code in (301, 302, 303, 307, 308):
            target = _same_site(url, response.headers.get("Location", ""))
            if target:
                queue.append(target)
            continue
        if "text/html" not in response.content_type:
            continue
        document = lxml.html.fromstring(response.get_data() or b"<html></html>")
        for href in document.xpath("//a/@href | //link[@rel='alternate']/@href"):
            target = _same_site(url, href)
            if target and target not in seen:
                queue.append(target)
        for form in document.forms:
            action = _same_site(url, form.get("action") or url)
            if action:
                forms.append(Form(url, action, (form.get("method") or "get").lower(),
                                  _fields_of(form)))
    if submit_forms:
        _submit_all(client, forms, result, per_form_shape)
    return result


def _submit_all(client, forms: list[Form], result: CrawlResult, per_form_shape: int) -> None:
    done: Counter = Counter()
    # Forms that take things away go last, so the others still find what they act on.
    destructive = re.compile(r"delete|remove|unpublish|decline|deactivate|revoke")
    ordered = sorted(forms, key=lambda f: bool(destructive.search(f.action + repr(f.fields))))
    for form in ordered:
        if done[form.shape] >= per_form_shape:
            continue
        done[form.shape] += 1
        if form.method == "get":
            query = urlencode([(n, v) for n, v in form.fields if isinstance(v, str)])
            response = client.get(form.action + ("&" if "?" in form.action else "?") + query)
        else:
            data: dict[str, list] = {}
            for name, value in form.fields:
                data.setdefault(name, []).append(value)
            response = client.post(form.action, data=data, content_type=(
                "multipart/form-data" if any(isinstance(v, tuple) for _n, v in form.fields)
                else "application/x-www-form-urlencoded"))
        result.forms += 1
        result.statuses[response.status_code] += 1
        if response.status_code >= 500:
            result.failures.append(f"{form.method.upper()} {form.action} (form on {form.page})"
                                   f" -> {response.status_code}: {sorted(form.fields)[:12]}")
