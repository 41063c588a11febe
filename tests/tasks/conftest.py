"""What the task tests share: items as the tasks take them (Shapes images, Roles texts), and the one-batch
overfitting run."""

import dataclasses
from dataclasses import dataclass, field

import pytest
import torch

from workbench.data.kinds import KINDS
from workbench.data.shapes import generate_shapes
from workbench.data.text.corpus import generate_roles
from workbench.evaluation.metrics import embed
from workbench.tasks import Progress, PretextTask, build_task, task_class


@dataclass(frozen=True)
class OneBatch:
    """How a task overfits one fixed batch, and how far what it reports must fall: the mean of the last five
    steps under `ratio` × the mean of the five from step `early`, less `fall`."""
    params: dict = field(default_factory=dict)
    batch: int = 16
    lr: float = 3e-3
    steps: int = 40
    ratio: float = 0.5
    fall: float = 0.0
    early: int = 0
    metric: str = "loss"
    held: tuple[str, ...] = ()  # buffers put back before every step


# A registered task not named here gets OneBatch(): its loss must halve in 40 steps on 16 images at lr 3e-3.
# A new task that learns its batch more slowly than that gets its own entry here, with the reason beside it.
ONE_BATCH = {
    "barlow_twins": OneBatch({"projection_dim": 64}, batch=64),
    "byol": OneBatch(lr=1e-3),
    "colorization": OneBatch(ratio=0.7),
    "deepcluster": OneBatch({"clusters": 8, "pca_dims": 8}, batch=32, steps=30),
    "dino": OneBatch({"outputs": 64}, batch=32, ratio=0.8),
    # The two players' losses pull against each other; the discriminator, whose features are measured, must
    # learn to tell the batch from the fakes. Its fall depends on the draw: from 1.40 to 0.70 on two threads, to
    # 0.71 on one — so by 40 %, not half.
    "gan": OneBatch(metric="d_loss", ratio=0.6),
    "inpainting": OneBatch({"hole_kind": "centre"}, metric="hole_mse"),
    "jigsaw": OneBatch(batch=32, lr=2e-3, ratio=0.3),
    # Steps 5-10 sit near 1, where predicting 0 for every normalised patch gets; past that, the visible
    # patches are used.
    "mae": OneBatch(batch=8, lr=1e-3, ratio=0.75, early=5),
    # The queue is held still: else the batch's own older keys fill it.
    "moco": OneBatch({"queue_size": 256}, lr=1e-3, ratio=0.7, held=("queue",)),
    # Words of 16 stories to learn by heart (for mlm under a new mask every step): in 40 steps the loss goes
    # from ln V ≈ 6.2 to about 3.
    "mlm": OneBatch(ratio=0.65),
    "next_token": OneBatch(ratio=0.65),
    "relative_position": OneBatch(batch=32, lr=2e-3, ratio=0.3),
    "simsiam": OneBatch(lr=1e-3, ratio=1.0, fall=0.3),  # −cos falls towards −1: by an amount, not a factor
    "swav": OneBatch({"freeze_prototypes_epochs": 0, "queue_length": 0, "prototypes": 16}, batch=32, ratio=0.8),
    "vicreg": OneBatch({"projection_dim": 64}, batch=64),
}


@dataclass
class OneBatchRun:
    """A task after overfitting its batch: the inputs it saw every step and what each step reported."""
    case: OneBatch
    task: PretextTask
    inputs: object
    steps: list[dict[str, float]]

    def series(self, metric: str | None = None) -> list[float]:
        return [step[metric or self.case.metric] for step in self.steps]


def shapes_images(n: int, seed: int = 0) -> torch.Tensor:
    return generate_shapes(n, seed=seed)[0].float() / 255


# Stored items of each kind, as a data set holds them: uint8 Shapes images, Roles token ids.
STORED = {"image": lambda n, seed=0: generate_shapes(n, seed=seed)[0],
          "text": lambda n, seed=0: generate_roles(n, seed)[1]}


def items_for(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """n items of the kind task `name` reads, as the engine hands them to it (the kind's `model_input`)."""
    kind = task_class(name).kind
    return KINDS[kind].model_input(STORED[kind](n, seed))


def overfit(name: str, case: OneBatch) -> OneBatchRun:
    """The engine's step, hooks included, on one batch of fixed inputs, after the epoch's start has seen it."""
    cls = task_class(name)
    task = build_task(name, cls.encoders[0] if cls.encoders else "small_cnn", 0, **case.params)
    stored = STORED[cls.kind](case.batch)
    task.on_epoch_start(Progress(0, case.steps), lambda transform=None: embed(task, stored, normalize=False,
                                                                              transform=transform))
    inputs = task.make_inputs(KINDS[cls.kind].model_input(stored), torch.Generator().manual_seed(0),
                              torch.arange(case.batch))
    optimizer = torch.optim.AdamW(task.param_groups(0.0), lr=case.lr)
    held = {name: getattr(task, name).clone() for name in case.held}
    steps = []
    for step in range(case.steps):
        progress = Progress(step, case.steps)
        for name, value in held.items():
            getattr(task, name).copy_(value)
        out = task.loss(inputs, progress)
        optimizer.zero_grad()
        out.loss.backward()
        task.before_optimizer_step(progress)
        optimizer.step()
        task.after_optimizer_step(progress)
        steps.append({"loss": out.loss.item(), **{k: float(v) for k, v in out.metrics.items()}})
    return OneBatchRun(case, task, inputs, steps)


@pytest.fixture
def shapes():
    """`shapes(n, seed=0)`: n Shapes images (n, 3, 32, 32) in [0, 1], as the tasks take them."""
    return shapes_images


@pytest.fixture
def items():
    """`items(name, n, seed=0)`: n items of the kind task `name` reads, as the engine hands them to it."""
    return items_for


@pytest.fixture(scope="session")
def one_batch():
    """`one_batch(name, **params)`: the task `name` overfitted on one batch as ONE_BATCH says, its parameters
    changed by `params`; each run happens once a session, for the registry suite and the task's own file."""
    runs = {}

    def run(name: str, **params) -> OneBatchRun:
        case = ONE_BATCH.get(name, OneBatch())
        case = dataclasses.replace(case, params={**case.params, **params})
        key = (name, tuple(sorted(case.params.items())))
        if key not in runs:
            runs[key] = overfit(name, case)
        return runs[key]
    return run
