"""Amazon ECS's own blue/green deployments (strategy `BLUE_GREEN`), which moto stores the
configuration of but never runs: see engine.py."""

from .engine import EcsDeployments
from .runner import Timings

__all__ = ["EcsDeployments", "Timings"]
