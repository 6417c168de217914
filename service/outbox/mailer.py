"""Mail transports: SMTP from ``MAIL_URL``, or a folder of .eml files in development."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


def build_message(row, sender: str) -> EmailMessage:
    """A multipart plain-text + HTML message with the row's stable Message-ID."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = formatdate(localtime=False)
    msg["Content-Language"] = row.language.replace("_", "-")
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    return msg


class SmtpTransport:
    """smtp://user:pass@host:port (``?starttls=1``) or smtps://... for implicit TLS."""

    def __init__(self, url: str, timeout: float = 30):
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps"):
            raise ValueError("MAIL_URL must start with smtp:// or smtps://")
        query = parse_qs(parsed.query)
        self.host = parsed.hostname or "localhost"
        self.ssl = parsed.scheme == "smtps"
        self.port = parsed.port or (465 if self.ssl else 25)
        self.user = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.timeout = timeout

    def __enter__(self):
        if self.ssl:
            self.smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                         context=ssl.create_default_context())
        else:
            self.smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                self.smtp.starttls(context=ssl.create_default_context())
        if self.user:
            self.smtp.login(self.user, self.password or "")
        return self

    def send(self, msg: EmailMessage) -> None:
        self.smtp.send_message(msg)

    def __exit__(self, *exc):
        try:
            self.smtp.quit()
        except smtplib.SMTPException:
            self.smtp.close()
        return False


class FolderTransport:
    """Development: each message becomes an .eml file listed on the admin "Sent mail" page."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def send(self, msg: EmailMessage) -> None:
        name = msg["Message-ID"].strip("<>").replace("@", "_at_").replace("/", "_")
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(bytes(msg))
        tmp.replace(self.folder / f"{name}.eml")  # atomic: a half-written file is never listed

    def __exit__(self, *exc):
        return False


def transport_for(config):
    if config.get("MAIL_URL"):
        return SmtpTransport(config["MAIL_URL"])
    return FolderTransport(config["MAIL_DIR"])
