"""What each panel of a faceted chart shows, read from the SVG Vega draws: a chart whose
panels all hold the same marks draws every row in every panel (its facet did not split the
data), whatever the panel titles say. Standard library only.

Vega draws a facet as a group ``g.cell`` with one child group per panel; a panel's data
marks are the children of its ``g.role-mark`` groups, each described by its ``aria-label``
(the encoded fields and values) or, without one, by its geometry.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

__all__ = ["chart_panels", "identical_panels"]


def _classes(element: ET.Element) -> list[str]:
    return (element.get("class") or "").split()


def _marks(panel: ET.Element) -> list[str]:
    out = []
    for group in panel.iter():
        if "role-mark" not in _classes(group):
            continue
        for mark in group:
            out.append(
                mark.get("aria-label")
                or " ".join(
                    f"{k}={mark.get(k)}" for k in ("d", "transform", "x", "y") if mark.get(k)
                )
            )
    return sorted(out)


def chart_panels(svg: str) -> list[list[str]]:
    """The data marks of each panel of a faceted Vega chart (its SVG text), each panel's
    mark descriptions sorted; ``[]`` when the chart has no facet.

    Examples
    --------
    >>> cell = ('<svg xmlns="http://www.w3.org/2000/svg"><g class="mark-group role-scope cell">'
    ...         '<g><g class="mark-symbol role-mark"><path aria-label="arm: a"/></g></g>'
    ...         '<g><g class="mark-symbol role-mark"><path aria-label="arm: b"/></g></g>'
    ...         '</g></svg>')
    >>> chart_panels(cell)
    [['arm: a'], ['arm: b']]
    """
    root = ET.fromstring(svg)
    panels: list[list[str]] = []
    for element in root.iter():
        if "cell" in _classes(element) and "role-scope" in _classes(element):
            panels += [_marks(panel) for panel in element]
    return panels


def identical_panels(svg: str) -> bool:
    """Whether a faceted chart's panels (two or more) all show the same marks: its facet
    drew every row in every panel.

    Examples
    --------
    >>> same = ('<svg xmlns="http://www.w3.org/2000/svg"><g class="mark-group role-scope cell">'
    ...         + '<g><g class="role-mark"><path aria-label="arm: a"/></g></g>' * 2 + '</g></svg>')
    >>> identical_panels(same)
    True
    """
    panels = chart_panels(svg)
    return len(panels) >= 2 and all(p == panels[0] for p in panels)
