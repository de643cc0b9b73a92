"""The console's words in Spanish (default) and English."""

from __future__ import annotations

from fastapi import Request

LANGS = ("es", "en")
MESSAGES: dict[str, dict[str, str]] = {
    "es": {
        "login.title": "Iniciar sesión",
        "login.name": "Usuario",
        "login.password": "Contraseña",
        "login.submit": "Entrar",
        "login.failed": "Usuario o contraseña incorrectos.",
        "logout": "Cerrar sesión",
        "home.title": "Consola",
        "home.hello": "Hola, {name}",
        "home.role": "Rol: {role}",
        "home.site": "Abrir la base de conocimiento",
        "home.api": "Documentación de la API",
        "lang.switch": "English",
        "role.operator": "operador",
        "role.lead": "líder L2",
        "role.approver": "aprobador del cliente",
        "role.admin": "administrador",
    },
    "en": {
        "login.title": "Log in",
        "login.name": "User name",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.failed": "Wrong user name or password.",
        "logout": "Log out",
        "home.title": "Console",
        "home.hello": "Hello, {name}",
        "home.role": "Role: {role}",
        "home.site": "Open the knowledge base",
        "home.api": "API documentation",
        "lang.switch": "Español",
        "role.operator": "operator",
        "role.lead": "L2 lead",
        "role.approver": "client approver",
        "role.admin": "administrator",
    },
}


def language(request: Request) -> str:
    """The console language: ?lang=, then the kb_lang cookie, then Spanish."""
    for candidate in (request.query_params.get("lang"), request.cookies.get("kb_lang")):
        if candidate in LANGS:
            return candidate
    return "es"


def translator(lang: str):  # type: ignore[no-untyped-def]
    """A function that looks a message key up in lang."""

    def t(key: str, **values: str) -> str:
        return MESSAGES[lang].get(key, MESSAGES["es"].get(key, key)).format(**values)

    return t
