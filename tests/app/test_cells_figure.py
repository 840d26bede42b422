"""ui.matrix.cells_figure: the window outlined where it is, and the frame only when asked."""

from __future__ import annotations

import numpy as np

from ui.matrix import cells_figure


def test_the_window_and_the_frame_are_drawn_around_their_cells():
    values = np.arange(36.0).reshape(6, 6)
    figure = cells_figure(values, (1, 2, 3, 3), (1, 1, 4, 4))
    window, frame = figure.layout.shapes
    assert (window.x0, window.x1, window.y0, window.y1) == (1.5, 4.5, 0.5, 3.5)  # columns 2–4, rows 1–3
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (0.5, 4.5, 0.5, 4.5) and frame.line.dash == "dash"
    assert figure.data[0].text[5][5] == "35"  # every cell shows its number
    assert len(cells_figure(values, (0, 0, 2, 2)).layout.shapes) == 1  # no frame asked, none drawn
