"""Screening for the API: the same ``analysis.screening.Screener`` as ``chaintrail screen``, one per process.

The screener holds its own trace engine and edits its stop mask in place
while it screens, so calls are serialised by a lock; it is rebuilt when
tags change.
"""

from __future__ import annotations

import threading

from chaintrail.analysis.screening import Screener, ScreenParams
from chaintrail.api.errors import NotFoundError
from chaintrail.errors import UsageError
from chaintrail.i18n import _

_HEX = frozenset("0123456789abcdefABCDEF")


class ScreenService:
    """Lazily built screener for one workbench."""

    def __init__(self, wb):
        self.wb = wb
        self._lock = threading.Lock()
        self._screener: Screener | None = None
        self._tags = None

    def screen(self, subject: str, params: ScreenParams, currency: str = "USD") -> dict:
        s = subject.strip()
        if not s:
            raise UsageError(_("a screen needs an address or a txid"))
        tags = self.wb.tags
        if len(s) == 64 and set(s) <= _HEX and self.wb.view.tx_num(s.lower()) is None \
                and not tags.tagstore.lookup(s):
            raise NotFoundError(_("transaction {txid} is not in the store").format(txid=s))
        params.check()
        with self._lock:
            if self._screener is None or self._tags is not tags:
                # Built on the workbench's tag view: tags added through the API are screened at once.
                self._screener = Screener(tags.tagstore, self.wb.store, params)
                self._tags = tags
            self._screener.params = params
            self._screener.currency = self._screener.book.check_currency(currency)
            return self._screener.screen(s).to_dict()
