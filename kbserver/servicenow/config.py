"""The connection to the client's ServiceNow, as the settings describe it: off without a URL."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from kbserver.errors import InvalidInput
from kbserver.settings import Settings, setting_or_file


@dataclass(frozen=True)
class ServiceNowConfig:
    """Where the instance is, how to log in, and which assignment groups are the desk."""

    url: str
    user: str = ""
    password: SecretStr = field(default=SecretStr(""), repr=False)
    client_id: str = ""
    client_secret: SecretStr = field(default=SecretStr(""), repr=False)
    desk_groups: tuple[str, ...] = ()
    timeout: float = 10.0

    @property
    def oauth(self) -> bool:
        """Whether the client-credentials grant is used instead of basic auth."""
        return bool(self.client_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceNowConfig | None:
        """The configuration, or None when no ServiceNow URL is set (the integration is off)."""
        url = settings.servicenow_url.strip().rstrip("/")
        if not url:
            return None
        if not url.startswith(("https://", "http://")):
            raise InvalidInput("KB_SERVICENOW_URL must start with https://", {"setting": "KB_SERVICENOW_URL"})
        user = _value(settings.servicenow_user, settings.servicenow_user_file, "USER")
        password = _value(
            settings.servicenow_password.get_secret_value(), settings.servicenow_password_file, "PASSWORD"
        )
        client_id = _value(settings.servicenow_client_id, settings.servicenow_client_id_file, "CLIENT_ID")
        secret = _value(
            settings.servicenow_client_secret.get_secret_value(),
            settings.servicenow_client_secret_file,
            "CLIENT_SECRET",
        )
        if client_id and not secret:
            raise InvalidInput("KB_SERVICENOW_CLIENT_ID needs KB_SERVICENOW_CLIENT_SECRET")
        if not client_id and not (user and password):
            raise InvalidInput(
                "ServiceNow needs KB_SERVICENOW_USER and KB_SERVICENOW_PASSWORD, "
                "or KB_SERVICENOW_CLIENT_ID and KB_SERVICENOW_CLIENT_SECRET"
            )
        groups = tuple(g.strip() for g in settings.servicenow_desk_groups.split(",") if g.strip())
        return cls(
            url=url,
            user=user,
            password=SecretStr(password),
            client_id=client_id,
            client_secret=SecretStr(secret),
            desk_groups=groups,
            timeout=settings.servicenow_timeout,
        )


def _value(given: str, file: str, name: str) -> str:
    return setting_or_file(given, file, f"KB_SERVICENOW_{name}")
