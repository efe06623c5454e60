"""Which SVG outputs of a task may be shown as images: pictures only, nothing that runs."""

from __future__ import annotations

import pytest

from runner.book import plots
from runner.book.pages.tasks import inert_svg

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def test_a_matplotlib_svg_is_a_picture() -> None:
    plot = plots.Plot("t", "x", "y", (plots.Series("a", (1, 2), (3, 4)),))
    assert inert_svg(plots.render(plot))
    assert inert_svg(f'<svg {NS}><use xlink:href="#m1"/><image href="data:image/png;base64,AA"/>'
                     f"</svg>".encode())


@pytest.mark.parametrize("svg", [
    f"<svg {NS}><script>alert(1)</script></svg>",
    f'<svg {NS} onload="alert(1)"/>',
    f'<svg {NS}><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    f'<svg {NS}><a href="&#106;avascript:alert(1)"><text>x</text></a></svg>',
    f'<svg {NS}><image href="https://tracker.example.org/pixel.png"/></svg>',
    f"<svg {NS}><foreignObject><div>x</div></foreignObject></svg>",
    f'<svg {NS}><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>',
    f'<!DOCTYPE svg [<!ENTITY x "y">]><svg {NS}><text>&x;</text></svg>',
    "not xml at all <svg",
])
def test_an_svg_that_can_run_or_load_something_is_not(svg: str) -> None:
    assert not inert_svg(svg.encode())
