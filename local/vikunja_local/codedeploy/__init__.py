"""The CodeDeploy ECS blue/green simulator (see local/README.md)."""

from .lifecycle import Timings
from .simulator import CodeDeploySimulator

__all__ = ["CodeDeploySimulator", "Timings"]
