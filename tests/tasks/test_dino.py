import math

import torch
from lightly.loss import DINOLoss

from workbench.tasks import Progress, build_task
from workbench.tasks.dino import dino_loss, teacher_temperature_at


def build(**params):
    return build_task("dino", "small_cnn", 0, **params)


def test_loss_and_centre_match_lightly_over_two_steps(shapes):
    task = build(outputs=32, local_crops=2, warmup_teacher_temperature=0.04).double()
    x = shapes(8).double()
    # A fresh lightly loss: its centre starts at zero like ours; teacher sees 2 global views, student all 4.
    oracle = DINOLoss(output_dim=32, warmup_teacher_temp=0.04, teacher_temp=0.04, student_temp=0.1,
                      center_momentum=0.9).double()
    for step in range(2):  # the second step uses the centre the first one left behind
        crops = task.make_inputs(x, torch.Generator().manual_seed(step))
        with torch.no_grad():
            teacher, student = task.teacher(crops), task.student(crops)
        expected = oracle(teacher, student, teacher_temp=0.04)
        ours = task.loss(crops, Progress(0, 100, 1, 1))  # τ_t = 0.04 at the start of the warm-up
        task.after_optimizer_step(Progress(0, 100, 1, 1))  # the centre moves; the teacher, equal to the student, not
        assert math.isclose(ours.loss.item(), expected.item(), rel_tol=1e-6)
        assert torch.allclose(task.center, oracle.center.reshape(1, -1))


def test_centre_follows_its_formula_and_round_trips(shapes):
    task = build(outputs=32)
    crops = task.make_inputs(shapes(8), torch.Generator().manual_seed(0))
    task.center.fill_(0.5)
    teacher = torch.cat(task.teacher(crops))
    task.loss(crops, Progress())
    assert (task.center == 0.5).all()  # the step's loss and the optimiser step use the centre from before it
    task.after_optimizer_step(Progress())
    assert torch.allclose(task.center, 0.9 * 0.5 + 0.1 * teacher.mean(0, keepdim=True), atol=1e-6)
    copy = build(outputs=32)
    copy.load_state_dict(task.state_dict())
    assert torch.equal(copy.center, task.center)


def test_teacher_is_an_exponential_moving_average_of_the_student():
    task = build(momentum=0.996)
    with torch.no_grad():
        for p in task.encoder.parameters():
            p.add_(torch.randn_like(p))
    teacher = [p.clone() for p in task.teacher_encoder.parameters()]
    student = [p.clone() for p in task.encoder.parameters()]
    task.after_optimizer_step(Progress(0, 100))  # m = 0.996 at the start
    for t_new, t, s in zip(task.teacher_encoder.parameters(), teacher, student):
        assert torch.allclose(t_new, 0.996 * t + 0.004 * s, atol=1e-6)
    frozen = [p.clone() for p in task.teacher_head.parameters()]
    task.after_optimizer_step(Progress(100, 100))  # m = 1 at the end: the teacher stops moving
    assert all(torch.equal(a, b) for a, b in zip(frozen, task.teacher_head.parameters()))
    assert not any(p.requires_grad for p in task.teacher_encoder.parameters())


def test_features_come_from_the_teacher_backbone(shapes):
    task = build().eval()
    x = shapes(4)
    before = task.features(x)
    with torch.no_grad():
        for p in task.encoder.parameters():
            p.add_(1.0)
    assert torch.equal(task.features(x), before)
    assert torch.equal(before, task.teacher_encoder(x))


def test_teacher_temperature_warms_up_linearly():
    assert teacher_temperature_at(0.0, 0.04, 0.07, 0.3) == 0.04
    assert math.isclose(teacher_temperature_at(0.15, 0.04, 0.07, 0.3), 0.055)
    assert teacher_temperature_at(0.5, 0.04, 0.07, 0.3) == 0.07
    assert build(sharpening=False).temperatures(Progress(0, 10)) == (0.1, 0.1)


def test_matching_distributions_score_their_entropy_and_the_centre_is_subtracted():
    logits = torch.randn(4, 8, dtype=torch.float64)
    p = torch.softmax(logits / 0.1, dim=1)
    entropy = -(p * p.log()).sum(1).mean()
    # Teacher and student with the same temperature and identical outputs: the cross-entropy is the entropy.
    assert math.isclose(dino_loss([logits, logits], [logits, logits], torch.zeros(1, 8), 0.1, 0.1).item(),
                        entropy.item(), rel_tol=1e-9)
    shift = torch.randn(1, 8, dtype=torch.float64)  # a centre cancels a shift that every teacher output shares
    assert math.isclose(dino_loss([logits + shift] * 2, [logits] * 2, shift, 0.1, 0.1).item(), entropy.item(),
                        rel_tol=1e-9)


