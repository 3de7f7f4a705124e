"""Delivery settings never show their secrets when printed or logged (a repr in a traceback or a debug line)."""

from __future__ import annotations

from chaintrail.monitor.delivery import DeliverySettings
from chaintrail.monitor.mailer import SmtpSettings


def test_the_smtp_password_and_the_webhook_secret_stay_out_of_repr():
    smtp = SmtpSettings.parse("mail.example:587", user="duty", password="smtp-pass-0123", starttls=True)
    settings = DeliverySettings(b"deployment-secret-4567", smtp)
    for text in (repr(smtp), str(smtp), repr(settings), str(settings)):
        assert "smtp-pass-0123" not in text and "deployment-secret-4567" not in text
        assert "mail.example" in text and "587" in text          # the rest is still there to read
    assert smtp.password == "smtp-pass-0123" and settings.webhook_secret == b"deployment-secret-4567"
