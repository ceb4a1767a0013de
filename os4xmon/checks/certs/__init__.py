"""The certificate check: every certificate OS4X depends on, and its CRLs, before they expire.

When a partner's certificate expires its files stop; when a CRL passes its nextUpdate, TLS
sessions are refused. The sources are files (``--cert-file``, ``--crl-file``, globs), OS4X's
certificate directory (``--cert-dir``, default ``/opt/os4x/cert``) and the partner certificates
in OS4X's database (``--cert-query``: rows of owner, role, certificate).

- :mod:`.verdicts`: every verdict, pure (records and the time in, findings out);
- :mod:`.aspect`: the Resource, which reads the sources within ``-t`` (``wire.certfiles``
  parses them, ``db.rowquery`` runs the query).
"""

from __future__ import annotations

from os4xmon.checks.certs.aspect import Certs, build

__all__ = ["Certs", "build"]
