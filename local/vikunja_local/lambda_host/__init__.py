"""The local Lambda host: runs each function's real deployed `bootstrap` as a
Lambda custom runtime, speaking the Lambda Runtime API to it."""

from .host import LambdaHost

__all__ = ["LambdaHost"]
