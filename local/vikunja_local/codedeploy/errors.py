"""CodeDeploy's API errors, by the names the SDKs match on."""

from __future__ import annotations


class CodeDeployError(Exception):
    """Answered as AWS JSON: `{"__type": code, "message": message}`, HTTP 400."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid_revision(message: str) -> CodeDeployError:
    return CodeDeployError("InvalidRevisionException", message)
