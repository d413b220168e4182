"""Who made each thinking block: the upstream account and the model family of its signature.

Anthropic accepts a thinking block (and a redacted_thinking block) only in the account, and
with the model family, that produced it; any other target answers 400. Relay learns each
signature's producer from the answers it passes on, so when a conversation has to move to
another account or model, the request loses exactly the blocks its target would reject
(`runtime.translate.thinking.strip_foreign`) and keeps the rest. Only a 16-byte digest of
each signature is kept, never the text; entries are bounded (least recently used go first)
and expire. A signature relay never saw (made before a restart, or by another worker) has no
known producer and is sent on as it is.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable

from runtime.artifact import Key, Provider, Step
from runtime.routing.expiring import Expiring

Owner = tuple[str, str]
"""(account, model family)."""

CAPACITY = 100_000
"""About 10 MB: one entry per thinking block answered, far more than the live conversations' blocks."""
TTL = 6 * 3600.0
"""A conversation idle this long is most likely over; an older block is sent as it is."""

_DATED = re.compile(r"(?:[-@]\d{8})?(?:-v\d+(?::\d+)?)?$")


@functools.lru_cache(maxsize=1024)
def model_family(model: str) -> str:
    """The model without its snapshot date or version suffix (`claude-sonnet-4-5-20250929`,
    `claude-sonnet-4-5@20250929` and `claude-sonnet-4-5` are one family): an alias and its
    snapshot sign alike, another model does not."""
    return _DATED.sub("", model, count=1)


def owner(provider: Provider, key: Key | None, step: Step) -> Owner:
    """Who a candidate's thinking belongs to. A keyless provider (cloud credentials) is its own account."""
    account = (key.account or key.fingerprint) if key is not None else f"provider:{provider.name}"
    return account, model_family(step.model)


def _digest(signature: str) -> bytes:
    return hashlib.blake2b(signature.encode(), digest_size=16).digest()


class ThinkingOwners:
    """Signature digest → owner; `owners` is every producer ever seen, so a relay whose
    answers all came from one account and model skips the lookup entirely."""

    __slots__ = ("_entries", "owners")

    def __init__(self, capacity: int = CAPACITY, ttl: float = TTL) -> None:
        self._entries: Expiring[bytes, Owner] = Expiring(capacity, ttl)
        self.owners: set[Owner] = set()

    def learn(self, signatures: Iterable[str], made_by: Owner, now: float) -> None:
        for signature in signatures:
            if signature:
                self._entries.put(_digest(signature), made_by, now)
                self.owners.add(made_by)

    def may_differ(self, target: Owner) -> bool:
        """Whether any learned signature can belong to someone other than `target`."""
        owners = self.owners
        return bool(owners) and (len(owners) > 1 or target not in owners)

    def get(self, signature: str, now: float) -> Owner | None:
        return self._entries.get(_digest(signature), now, touch=True)

    def __len__(self) -> int:
        return len(self._entries)
