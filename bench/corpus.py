"""Generated content for benchmarks: realistic front matter and Markdown, fixed seed, mixed es/en."""

from __future__ import annotations

import random
from pathlib import Path

ES = [
    "contraseña",
    "usuario",
    "cuenta",
    "bloqueada",
    "restablecer",
    "configuración",
    "impresora",
    "cola",
    "correo",
    "buzón",
    "calendario",
    "conexión",
    "vpn",
    "red",
    "wifi",
    "portátil",
    "pantalla",
    "monitor",
    "aplicación",
    "acceso",
    "permiso",
    "solicitud",
    "ticket",
    "incidente",
    "escalado",
    "verificación",
    "identidad",
    "teléfono",
    "autenticación",
    "código",
    "mensaje",
    "error",
    "servidor",
    "carpeta",
    "unidad",
    "instalación",
    "licencia",
    "actualización",
    "reinicio",
    "equipo",
    "sesión",
    "navegador",
    "página",
    "sincronización",
]
EN = [
    "password",
    "user",
    "account",
    "locked",
    "reset",
    "settings",
    "printer",
    "queue",
    "email",
    "mailbox",
    "calendar",
    "connection",
    "vpn",
    "network",
    "wifi",
    "laptop",
    "screen",
    "monitor",
    "application",
    "access",
    "permission",
    "request",
    "ticket",
    "incident",
    "escalation",
    "verification",
    "identity",
    "phone",
    "authentication",
    "code",
    "message",
    "error",
    "server",
    "folder",
    "drive",
    "installation",
    "licence",
    "update",
    "restart",
    "computer",
    "session",
    "browser",
    "page",
    "synchronisation",
]
STOP_ES = ["de", "la", "el", "en", "y", "que", "los", "las", "por", "para", "con", "una", "un", "se", "no"]
STOP_EN = ["the", "a", "of", "to", "and", "in", "is", "for", "on", "with", "that", "it", "be", "not"]
CATEGORIES = ["cuentas", "mfa", "red-vpn", "correo", "dispositivos", "software"]


def _words(rng: random.Random, lang: str, n: int) -> str:
    vocab, stop = (ES, STOP_ES) if lang == "es" else (EN, STOP_EN)
    out = []
    for _ in range(n):
        # Zipf-like: low ranks far more often, plus a long tail of rarer made-up words.
        r = rng.random()
        if r < 0.35:
            out.append(rng.choice(stop))
        elif r < 0.9:
            out.append(vocab[min(int(rng.paretovariate(1.2)) - 1, len(vocab) - 1)])
        else:
            out.append(f"{rng.choice(vocab)[:4]}{rng.randint(0, 50000)}")
    return " ".join(out)


def article(rng: random.Random, number: int, min_words: int = 300, max_words: int = 1500) -> tuple[str, str]:
    """One generated article as (path, text)."""
    lang = "es" if rng.random() < 0.6 else "en"
    category = rng.choice(CATEGORIES)
    title = _words(rng, lang, rng.randint(3, 7)).capitalize()
    total = rng.randint(min_words, max_words)
    sections = []
    left = total
    n = 1
    while left > 0:
        size = min(left, rng.randint(80, 300))
        body = _words(rng, lang, size)
        if rng.random() < 0.3:
            body += "\n\n- " + "\n- ".join(_words(rng, lang, 6) for _ in range(3))
        sections.append(f"## {_words(rng, lang, 3).capitalize()} {n}\n\n{body}\n")
        left -= size
        n += 1
    tags = sorted({rng.choice(ES if lang == "es" else EN) for _ in range(rng.randint(2, 5))})
    text = (
        f"---\nid: KB-{number:05d}\ntitle: {title}\nlang: {lang}\nowner: owner{rng.randint(1, 20)}\n"
        f"tags: [{', '.join(tags)}]\naudience: [L1]\nreview_by: 2030-01-01\n---\n\n" + "\n".join(sections)
    )
    return f"docs/kb/{category}/article-{number:05d}.md", text


def write_corpus(root: Path, count: int, seed: int = 20261123) -> list[tuple[str, str]]:
    """Write count generated articles below root/docs and return them."""
    rng = random.Random(seed)
    docs = [article(rng, n + 1) for n in range(count)]
    for path, text in docs:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return docs
