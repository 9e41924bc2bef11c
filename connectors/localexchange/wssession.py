"""What a streaming session of the local exchange is made of: frames, subscriptions, the
``Session`` base class each venue's protocol (ws_binance, ws_bybit, ws_okx, ws_hyperliquid)
fills in, and ``StreamState``, what a session may read of the exchange (the service,
LocalExchange, is one). The server (wsserver) runs the sessions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from connectors.localexchange.faults import Faults
from connectors.localexchange.liquidations import LiquidationTape
from connectors.localexchange.listenkeys import ListenKeys
from connectors.localexchange.market import Market
from connectors.localexchange.protocol import Accounts


class StreamState(Protocol):
    """What the streams answer from: the market, the liquidation tape, the accounts (and
    Binance's listen keys), the faults to inject and the scenario clock."""

    @property
    def market(self) -> Market: ...

    @property
    def tape(self) -> LiquidationTape: ...

    @property
    def store(self) -> Accounts: ...

    @property
    def listen_keys(self) -> ListenKeys: ...

    @property
    def faults(self) -> Faults: ...

    def tick_ms(self) -> int:
        """The scenario time of the current tick, in ms."""
        ...


@dataclass
class Frame:
    """One message to send. ``channel`` names it for fault matching; data frames (market or
    account data) are subject to silence and cutting, control frames (acks, pongs) are not."""

    payload: Any
    channel: str = ""
    data: bool = True

    def text(self) -> str:
        if isinstance(self.payload, str):
            return self.payload
        return json.dumps(self.payload, separators=(",", ":"))


@dataclass
class Sub:
    """A subscription of a session: what it is about and when it is next due."""

    kind: str
    base: str | None = None
    key: Any = None
    next_due: float = 0.0
    last_ms: int | None = None
    last_sent: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Session:
    """One client connection of one venue. Subclasses implement ``on_text`` (frames in) and
    ``due`` (frames out at wall time ``now``)."""

    exchange: ClassVar[str] = ""

    def __init__(self, lx: StreamState, path: str, query: dict[str, str]):
        self.lx = lx
        self.path = path
        self.query = query
        self.subs: dict[str, Sub] = {}
        self.woken = False
        self.closed = False
        self.outbox: list[Frame] = []
        self.ids = 0

    def accept(self) -> str | None:
        """None to accept the connection, else the reason to refuse it."""
        return None

    def on_text(self, text: str) -> None:
        raise NotImplementedError

    def due(self, now: float) -> list[Frame]:
        raise NotImplementedError

    def reply(self, payload: Any, channel: str = "control") -> None:
        self.outbox.append(Frame(payload, channel, data=False))

    def scenario_ms(self) -> int:
        return self.lx.tick_ms()

    def next_id(self) -> int:
        self.ids += 1
        return self.ids


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
