"""Many runs at once: ``agentlog batch`` and :class:`Batch`, locally or on a Ray cluster.

Every run of a batch is an ordinary run directory under one runs directory; its log
decides whether the batch starts, resumes or skips it, so a batch can be stopped,
restarted or moved to a cluster without losing or redoing work.
"""

from actors.batch.batch import Batch, Engine
from actors.batch.runner import ModelSpec, RunOutcome, run_one
from actors.batch.tasks import BatchInputError, BatchTask, load_tasks, parse_tasks

__all__ = [
    "Batch",
    "BatchInputError",
    "BatchTask",
    "Engine",
    "ModelSpec",
    "RunOutcome",
    "load_tasks",
    "parse_tasks",
    "run_one",
]
