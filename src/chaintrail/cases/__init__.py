"""Case files: findings with provenance, a hash-chained audit log, court reports and signed cross-agency packages.

Notebook use::

    from chaintrail.cases import CaseRepository, trace_finding, build_report
    repo = CaseRepository.open("cases.sqlite")            # or "postgresql://..." for the team server
    me, _ = repo.bootstrap("NCA", "alice")                # the first admin (prints nothing; token returned)
    ref = repo.create_case(me, "Ransomware proceeds")["ref"]
    repo.add_finding(me, ref, trace_finding(store, "ADDRESS"))
    open("report.pdf", "wb").write(build_report(repo, me, ref, "pdf"))

Names are resolved on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "CaseRepository": "repository", "CaseView": "repository", "subject_kind": "repository",
    "Principal": "identity", "ROLES": "identity",
    "AuditEntry": "audit",
    "verify": "verify", "VerifyReport": "verify",
    "trace_finding": "findings", "screen_finding": "findings", "explain_finding": "findings", "rerun": "findings",
    "finding_hash": "findings",
    "build_report": "report",
    "export_package": "package", "import_package": "package", "read_package": "package",
    "build_bundle": "stix_export", "build_entities": "ftm_export",
    "read_legs": "exchange_records", "map_legs": "exchange_records",
    "open_demo_case": "demo",
    "NotFound": "errors", "AccessDenied": "errors", "PackageError": "errors", "CaseDbError": "errors",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'chaintrail.cases' has no attribute {name!r}")
    return getattr(importlib.import_module(f"chaintrail.cases.{_WHERE[name]}"), name)
