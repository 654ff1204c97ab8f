"""Authentication failures and how each service spells them (AWS answers IAM/STS and EC2 differently)."""

from __future__ import annotations

import enum

from eucalite.errors import ServiceError


class AuthProblem(enum.Enum):
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    UNKNOWN_KEY = "unknown-key"
    BAD_SIGNATURE = "bad-signature"
    SKEWED = "skewed"
    PRESIGN_EXPIRED = "presign-expired"
    TOKEN_EXPIRED = "token-expired"
    BAD_REGION = "bad-region"


class AuthFailure(Exception):
    def __init__(self, problem: AuthProblem, detail: str = "") -> None:
        super().__init__(detail or problem.value)
        self.problem = problem
        self.detail = detail


_SIG_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
_EC2_AUTH = "AWS was not able to validate the provided access credentials"


def to_service_error(failure: AuthFailure, service: str) -> ServiceError:
    p, detail = failure.problem, failure.detail
    if service == "ec2":
        table = {
            AuthProblem.MISSING: ("MissingAuthenticationToken", "The request must contain either a valid "
                                  "(registered) AWS access key ID or X.509 certificate.", 401),
            AuthProblem.INCOMPLETE: ("IncompleteSignature", detail, 401),
            AuthProblem.UNKNOWN_KEY: ("AuthFailure", _EC2_AUTH, 401),
            AuthProblem.BAD_SIGNATURE: ("AuthFailure", _EC2_AUTH, 401),
            AuthProblem.BAD_REGION: ("AuthFailure", detail or _EC2_AUTH, 401),
            AuthProblem.SKEWED: ("RequestExpired", "Request has expired.", 400),
            AuthProblem.PRESIGN_EXPIRED: ("RequestExpired", "Request has expired.", 400),
            AuthProblem.TOKEN_EXPIRED: ("RequestExpired", "Request has expired.", 400),
        }
    else:
        table = {
            AuthProblem.MISSING: ("MissingAuthenticationToken", "Request is missing Authentication Token", 403),
            AuthProblem.INCOMPLETE: ("IncompleteSignature", detail, 400),
            AuthProblem.UNKNOWN_KEY: ("InvalidClientTokenId", "The security token included in the request is "
                                      "invalid.", 403),
            AuthProblem.BAD_SIGNATURE: ("SignatureDoesNotMatch", _SIG_MISMATCH, 403),
            AuthProblem.BAD_REGION: ("SignatureDoesNotMatch", detail, 403),
            AuthProblem.SKEWED: ("SignatureDoesNotMatch", detail, 403),
            AuthProblem.PRESIGN_EXPIRED: ("RequestExpired", "Request has expired.", 400),
            AuthProblem.TOKEN_EXPIRED: ("ExpiredToken", "The security token included in the request is expired",
                                        403),
        }
    code, message, status = table[p]
    return ServiceError(code, message, status)
