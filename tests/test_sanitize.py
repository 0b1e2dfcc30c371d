"""The one sanitising policy: what survives and what does not."""
import pytest

from kb.ingest.sanitize import plain_text, render_summary, sanitize_html


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<svg onload="alert(1)"></svg>',
    "<!-- <script>alert(1)</script> -->",
])
def test_hostile_html_is_neutralised(hostile):
    cleaned = render_summary(hostile)
    for bad in ("<script", "onerror", "javascript:", "data:", "<iframe", "style=", "<svg", "onload"):
        assert bad not in cleaned.lower()


def test_markdown_and_safe_html_survive():
    html = render_summary("# Ignored level\n\n**Commune** budget, see <em>NCDD</em> and "
                          "[guide](https://ncdd.gov.kh/guide)\n\n- one\n- two")
    assert "<strong>Commune</strong>" in html and "<em>NCDD</em>" in html
    assert '<a href="https://ncdd.gov.kh/guide" rel="nofollow">guide</a>' in html
    assert "<li>one</li>" in html


def test_khmer_text_is_kept_as_is():
    text = "ក្រុមប្រឹក្សាឃុំ សង្កាត់"
    assert text in render_summary(text)
    assert sanitize_html(f"<p>{text}</p>") == f"<p>{text}</p>"


def test_plain_text_drops_markup():
    assert plain_text("<p>D&amp;D <b>reform</b></p>") == "D&D reform"
