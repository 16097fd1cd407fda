"""moto's server answering repeated requests as AWS would: the emulator `make emulator` and the tests run.

On a loaded machine Terraform and its AWS provider send some requests twice against moto: the
SDK retries one whose answer it did not get, though moto had applied it. Each time it left the
emulator unlike any AWS account, once each in CI: a second VPC endpoint with the default
full-access policy (the audit found it as a breach), FlowLogAlreadyExists (the network apply
failed), a second revoke of one security group rule (the destroy failed), a second conditional
PutItem of Terraform's own state lock (the lock stayed held). Three changes, nothing else:

- A retry of an SDK call moto already answered gets that answer again. The SDKs mark every
  attempt (botocore and the Go SDK alike: ``amz-sdk-invocation-id``, the same for every
  attempt of one call, and ``amz-sdk-request: attempt=N``); a retry that arrives while the
  first attempt is still being served waits for its answer. Every replay is logged (stderr,
  the server's log), so a run shows when it happened.
- An EC2 request repeated with its ClientToken (a new call, the same token) gets the first
  request's result, as AWS documents ("Ensuring idempotency", EC2 API Reference); the token
  again with other parameters is IdempotentParameterMismatch.
- RevokeSecurityGroupIngress/Egress naming a SecurityGroupRuleId that no longer exists says
  InvalidSecurityGroupRuleId.NotFound, as AWS does and the provider takes as "already deleted"
  (vpc_security_group_ingress_rule.go, Delete); moto said InvalidPermission.NotFound.

``python -m isolated_studio.ops.emulator_server`` takes moto_server's arguments (-H, -p).
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

IDEMPOTENT_PARAMETER_MISMATCH = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>IdempotentParameterMismatch</Code>'
    b"<Message>The client token was used before with other parameters.</Message></Error></Errors>"
    b"<RequestID>isolated-studio-emulator</RequestID></Response>"
)


class ClientTokenReplay:
    """WSGI middleware: a Query API request (EC2's) with a ClientToken is answered once; a repeat
    gets the first answer again."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.answers: dict[tuple[str, str], tuple[bytes, str, list[tuple[str, str]], bytes]] = {}
        self.lock = threading.Lock()  # a token's first request runs alone: a repeat waits for its answer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)  # none (chunked): not an SDK's Query request
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", "")
            or not length
        ):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode("utf-8", "replace"))
        token, action = form.get("ClientToken", [""])[0], form.get("Action", [""])[0]
        if not token:
            return self.app(environ, start_response)
        with self.lock:
            key = (action, token)
            if key in self.answers:
                first_body, status, headers, answer = self.answers[key]
                if first_body != body:
                    start_response("400 Bad Request", [("Content-Type", "text/xml")])
                    return [IDEMPOTENT_PARAMETER_MISMATCH]
                start_response(status, headers)
                return [answer]
            captured: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
                captured.update(status=status, headers=list(headers))
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            answer = b"".join(self.app(environ, capture))
            if str(captured.get("status", "")).startswith("200"):
                self.answers[key] = (body, captured["status"], captured["headers"], answer)
            return [answer]


class RetryReplay:
    """WSGI middleware: an SDK's retry of a call already answered gets that answer again."""

    KEEP = 4096  # answers kept (a deploy makes a few thousand calls); the oldest go first

    def __init__(self, app: WsgiApp, log: Callable[[str], None]) -> None:
        self.app, self.log = app, log
        self.answers: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self.serving: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
        attempt = re.search(r"attempt=(\d+)", environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        if not invocation or attempt is None:
            return self.app(environ, start_response)
        with self.lock:
            answered, serving = self.answers.get(invocation), self.serving.get(invocation)
            if answered is None and serving is None:
                serving = self.serving[invocation] = threading.Event()
                first = True
            else:
                first = False
        if not first:
            if answered is None and serving is not None:
                serving.wait(timeout=300)
                answered = self.answers.get(invocation)
            if answered is not None:
                status, headers, body = answered
                self.log(
                    f"isolated-studio emulator: attempt {attempt.group(1)} of SDK call {invocation} "
                    f"({environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}) answered as its first: {status}"
                )
                start_response(status, headers)
                return [body]
            return self.app(environ, start_response)  # the first attempt failed: run it again
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured.update(status=status, headers=list(headers))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            body = b"".join(self.app(environ, capture))
            if not str(captured.get("status", "500")).startswith("5"):  # a server error is run again
                with self.lock:
                    self.answers[invocation] = (captured["status"], captured["headers"], body)
                    while len(self.answers) > self.KEEP:
                        self.answers.popitem(last=False)
            return [body]
        finally:
            with self.lock:
                self.serving.pop(invocation).set()


def make_moto_answer_as_aws() -> None:
    """Patch moto's EC2 backend in this process (before its server starts)."""
    from moto.ec2.exceptions import InvalidSecurityGroupRuleIdNotFoundError
    from moto.ec2.models.security_groups import SecurityGroupBackend

    for direction in ("ingress", "egress"):
        revoke = getattr(SecurityGroupBackend, f"revoke_security_group_{direction}")

        def revoke_by_rule_id(
            self: Any,
            group_name_or_id: str,
            *args: Any,
            _revoke: Any = revoke,
            _direction: str = direction,
            **kwargs: Any,
        ) -> Any:
            rule_ids = kwargs.get("security_rule_ids")
            group = self.get_security_group_by_name_or_id(group_name_or_id, kwargs.get("vpc_id"))
            if rule_ids and group is not None:
                known = {rule.id for rule in getattr(group, f"{_direction}_rules")}
                unknown = [rule_id for rule_id in rule_ids if rule_id not in known]
                if unknown:
                    raise InvalidSecurityGroupRuleIdNotFoundError(unknown[0])
            return _revoke(self, group_name_or_id, *args, **kwargs)

        setattr(SecurityGroupBackend, f"revoke_security_group_{direction}", revoke_by_rule_id)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    make_moto_answer_as_aws()
    import moto.server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    class Dispatcher(DomainDispatcherApplication):
        """moto's application, its answers to repeated ClientTokens kept."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._replay = RetryReplay(ClientTokenReplay(super().__call__), _log)

        def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            return self._replay(environ, start_response)

    moto.server.DomainDispatcherApplication = Dispatcher  # type: ignore[misc]
    moto.server.main(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
