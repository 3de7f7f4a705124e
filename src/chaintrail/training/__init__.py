"""Training: exercise sets on generated cases, a class roster, automatic grading, exam mode and lessons."""

from chaintrail.training.classroom import Classroom, ExamLocked, NotAllowed, Trainee
from chaintrail.training.grading import WEIGHTS, grade

__all__ = ["Classroom", "ExamLocked", "NotAllowed", "Trainee", "WEIGHTS", "grade"]
