"""Pure components: plain data in, Dash components out."""

from components.notices import notice_cards
from components.shell import NAVBAR, SHELL_NAV, NavUser, footer, nav_items, navbar


def _texts(component) -> list[str]:
    """Every string inside a component tree."""
    found: list[str] = []
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif node is not None:
            stack.append(getattr(node, "children", None))
    return found


def test_notice_cards_render_as_text():
    payload = "<img src=x onerror=alert(1)>"
    cards = notice_cards([{"title": payload, "body": "Body", "published_on": "01 Nov 2026"}])
    assert len(cards) == 1
    texts = _texts(cards)
    assert payload in texts  # a plain string child: React renders it as text, never as markup
    assert "Published 01 Nov 2026" in texts


def test_notice_cards_empty_state():
    assert _texts(notice_cards([])) == ["There are no notices at the moment."]


def test_navbar_is_a_frame_for_the_navigation():
    bar = navbar()
    assert bar.id == NAVBAR
    assert any(getattr(node, "id", None) == SHELL_NAV for node in _walk(bar))


def test_nav_items_for_anonymous_and_signed_in():
    anonymous = nav_items([("Home", "/"), ("Terms", "/terms")], None)
    links = [link for link in _walk(anonymous) if type(link).__name__ == "NavLink"]
    assert [(link.children, link.href) for link in links] == [("Home", "/"), ("Terms", "/terms")]
    assert any(getattr(node, "href", None) == "/login" for node in _walk(anonymous))

    signed_in = nav_items([("Home", "/")], NavUser("Ann Buyer", "Authorized user", "tok"))
    texts = _texts(signed_in)
    assert "Ann Buyer" in texts and " (Authorized user)" in texts
    form = next(node for node in _walk(signed_in) if type(node).__name__ == "Form")
    assert (form.method, form.action) == ("post", "/logout")
    assert not any(getattr(node, "href", None) == "/login" for node in _walk(signed_in))


def test_footer_links_public_pages():
    hrefs = [getattr(node, "href", None) for node in _walk(footer())]
    assert "/about" in hrefs and "/terms" in hrefs


def _walk(component):
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(reversed(node))
        elif hasattr(node, "children"):
            yield node
            stack.append(node.children)
