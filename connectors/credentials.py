"""API credentials, kept out of every repr, log line and exception message."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.redaction import register_secrets


@dataclass(frozen=True, slots=True)
class Credentials:
    """What an exchange needs to read an account. Hyperliquid needs only a wallet address.

    The secret fields are excluded from repr and comparison output so that a stray log call or
    traceback cannot print them, and every key, secret and passphrase is registered with the
    log redaction (connectors/redaction.py) as soon as credentials are made: loaded from the
    secret store or the environment, typed into the connect dialog.
    """

    api_key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    wallet: str = ""

    def __post_init__(self) -> None:
        register_secrets((self.api_key, self.secret, self.password))

    def __repr__(self) -> str:
        key = f"{self.api_key[:4]}…" if self.api_key else ""
        return f"Credentials(api_key={key!r}, secret=***, password=***, wallet={self.wallet!r})"

    __str__ = __repr__

    def secret_values(self) -> tuple[str, ...]:
        """The values that must never be written anywhere but the secret store."""
        return tuple(v for v in (self.secret, self.password) if v)

    def to_mapping(self) -> dict[str, str]:
        return {
            "api_key": self.api_key,
            "secret": self.secret,
            "password": self.password,
            "wallet": self.wallet,
        }

    @classmethod
    def from_mapping(cls, data: dict[str, str]) -> Credentials:
        return cls(
            api_key=data.get("api_key", ""),
            secret=data.get("secret", ""),
            password=data.get("password", ""),
            wallet=data.get("wallet", ""),
        )
