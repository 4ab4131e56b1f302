"""The domain goes to an action server once, not with every action call (the
patch `action_domain` of `rasa_runtime.patches`).

Rasa 3.6 puts the whole domain (24 KB of JSON here) into every action call's body, beside the
tracker (16 KB at the end of a conversation). The action server parses all of it for each call,
though the domain never changes while a model is loaded.

rasa-sdk 3.21's executor already speaks the protocol that Rasa Pro uses to avoid this:

- A call may carry `domain_digest` beside the domain. The executor keeps the domain and the
  digest it came with.
- A later call may carry the digest and no domain. The executor then uses the domain it kept.
- A call with no domain, whose digest the executor does not hold, is answered with status 449
  (`ActionMissingDomainException`): "send the domain". This covers a restarted action server,
  another replica behind the same address, or a new model's domain.

This module speaks the client side of that protocol:

- The first call to an endpoint carries the domain with its digest.
- Once one such call has been answered, later calls for that endpoint and digest leave the
  domain out.
- A 449 answer is followed at once by the same call with the domain; only that answer is
  returned to Rasa. The action has not run: the executor checks the domain before it runs
  anything.

The digest is the SHA-256 of the domain's JSON. That JSON is encoded once per domain object
(`Domain.as_dict()` returns the same dict for the model's lifetime) and spliced into the
bodies that carry it. Request bodies otherwise hold exactly Rasa's body dict, with the
`domain_digest` key added, encoded by ujson (already pinned in the Rasa runtime for Sanic):
the same JSON values as Rasa's `json.dumps`, without the spaces, in about a third of the
time (145 against 411 µs for the 40 KB call at the end of the benchmark's conversation;
docs/performance.md, speed-up 22). A body ujson cannot encode the way `json.dumps` would (an
integer past 64 bits, an object of an unknown type) is encoded by `json.dumps` as before, so
it fails, or not, as Rasa's own would.

The action server must speak the protocol: one that does not (older rasa-sdk releases) would
receive calls with no domain. `requirements/services.txt` pins rasa-sdk 3.21.1, whose side of
it `tests/actions/test_domain_digest.py` checks.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Set, Text, Tuple

import ujson

# rasa-sdk's answer to a call without a domain whose digest it does not hold.
DOMAIN_WANTED = 449


@dataclass(frozen=True)
class EncodedDomain:
    """A domain dict, its JSON and that JSON's digest."""

    domain: Dict[Text, Any]
    json: Text
    digest: Text


_last_encoded: Optional[EncodedDomain] = None  # one model (one domain) at a time
# (endpoint URL, digest) pairs an action server has answered a call with the domain for.
_holding: Set[Tuple[Text, Text]] = set()


def encoded(domain: Dict[Text, Any]) -> EncodedDomain:
    """The domain's JSON and digest, computed once per domain object."""
    global _last_encoded
    if _last_encoded is None or _last_encoded.domain is not domain:
        text = json.dumps(domain)
        _last_encoded = EncodedDomain(domain, text,
                                      hashlib.sha256(text.encode("utf-8")).hexdigest())
    return _last_encoded


def dumps(value: Any) -> Text:
    """JSON text of `value` with the same values `json.dumps(value)` gives, faster."""
    try:
        return ujson.dumps(value, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)


def body(call: Dict[Text, Any], domain: EncodedDomain, with_domain: bool) -> bytes:
    """`call` as JSON with `domain_digest` added, and the domain only `with_domain`."""
    rest = dumps({**{key: value for key, value in call.items() if key != "domain"},
                  "domain_digest": domain.digest})
    if not with_domain:
        return rest.encode("utf-8")
    return f'{rest[:-1]}, "domain": {domain.json}}}'.encode("utf-8")


def is_action_call(content_type: Optional[Text], call: Any) -> bool:
    return (content_type == "application/json" and isinstance(call, dict)
            and isinstance(call.get("domain"), dict) and "next_action" in call)


def forget() -> None:
    """Start again as if no action server held any domain (tests; a new model needs nothing)."""
    _holding.clear()


def sending_the_domain_once(original: Any) -> Any:
    """Wrap `EndpointConfig.request`: action calls leave the domain out once it is held."""
    from rasa.utils.endpoints import ClientResponseError

    async def request(self: Any, method: Text = "post", subpath: Optional[Text] = None,
                      content_type: Optional[Text] = "application/json",
                      compress: bool = False, **kwargs: Any) -> Any:
        call = kwargs.get("json")
        if not is_action_call(content_type, call):
            return await original(self, method, subpath, content_type, compress, **kwargs)
        kwargs.pop("json")
        domain = encoded(call["domain"])
        held = (self.url, domain.digest)
        if held in _holding:
            try:
                return await original(self, method, subpath, content_type, compress,
                                      data=body(call, domain, with_domain=False), **kwargs)
            except ClientResponseError as error:
                if error.status != DOMAIN_WANTED:
                    raise
        answer = await original(self, method, subpath, content_type, compress,
                                data=body(call, domain, with_domain=True), **kwargs)
        _holding.add(held)
        return answer

    request.__wrapped__ = original  # type: ignore[attr-defined]
    request.__doc__ = original.__doc__
    return request
