"""One error type for every service, serialized in one place (wire.serialize).

Handlers raise ServiceError with the AWS code; the wire layer picks the envelope (Query or EC2) by the
service that was called. Factories below carry AWS's exact wording so it is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ServiceError(Exception):
    code: str
    message: str
    status: int = 400
    sender_fault: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationError", message)


def no_such_entity(message: str) -> ServiceError:
    return ServiceError("NoSuchEntity", message, 404)


def entity_exists(message: str) -> ServiceError:
    return ServiceError("EntityAlreadyExists", message, 409)


def delete_conflict(message: str) -> ServiceError:
    return ServiceError("DeleteConflict", message, 409)


def limit_exceeded(message: str) -> ServiceError:
    return ServiceError("LimitExceeded", message, 409)


def malformed_policy(message: str) -> ServiceError:
    return ServiceError("MalformedPolicyDocument", message, 400)


def invalid_parameter_value(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message, 400)


def missing_parameter(name: str) -> ServiceError:
    return ServiceError("MissingParameter", f"The request must contain the parameter {name}", 400)


def invalid_action(action: str, service: str) -> ServiceError:
    return ServiceError("InvalidAction", f"The action {action} is not valid for this web service.", 400)


def not_implemented(operation: str, service: str) -> ServiceError:
    # The operation exists in AWS's model but eucalite does not serve it: say which, never pretend.
    return _not_implemented(f"The operation {operation} of {service.upper()}", service)


def parameter_not_implemented(parameter: str, operation: str, service: str) -> ServiceError:
    # Refused, never dropped: succeeding without the parameter would do something else than was asked.
    return _not_implemented(f"The parameter {parameter} of {operation}", service)


def _not_implemented(what: str, service: str) -> ServiceError:
    return ServiceError(
        "NotImplemented" if service != "ec2" else "Unsupported",
        f"{what} is not implemented by eucalite.",
        501 if service != "ec2" else 400,
        sender_fault=False,
    )


def internal_error(request_id: str) -> ServiceError:
    return ServiceError(
        "InternalFailure",
        f"The request processing has failed because of an unknown error. Request id: {request_id}",
        500,
        sender_fault=False,
    )
