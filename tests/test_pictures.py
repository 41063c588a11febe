import torch

from workbench.data.kinds import IMAGE, ZOOM
from workbench.inspection.preview import preview_grid
from workbench.tasks import PreviewRow


def test_long_captions_wrap_and_never_run_under_a_neighbouring_cell():
    image, gap = torch.rand(3, 32, 32), 8
    long = "own class 0 (not clustered yet) → cluster 223 at 0 %"
    grid = preview_grid([PreviewRow([image, image, image], [long, "short", long])], IMAGE.picture,
                        gap=gap)
    cell = ZOOM * 32
    for column in (1, 2):
        middle = gap + column * (cell + gap) - gap // 2  # the middle of the gap before this column
        assert (grid[:, middle - 1:middle + 1] == 255).all()  # white from top to bottom: no text crosses it
    single_line = gap + cell + 3 + 15 + gap
    assert grid.shape[0] > single_line  # the long caption took more than one line, and the picture grew for it
