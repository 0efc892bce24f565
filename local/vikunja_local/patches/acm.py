"""ACM: a DNS-validated certificate is issued once its validation record exists, as on AWS."""

from __future__ import annotations

from .registry import Finding, probe, replaces, uses

# How long ACM takes to see the record here: short, so the workflows' wait loops run at
# least once and the tests stay quick.
ISSUE_AFTER_SECONDS = 1.0


@replaces("moto.acm.models.CertBundle.check", "(self)")
@uses("moto.route53.models.route53_backends", None)
def acm_certificates_are_issued_only_once_validated() -> None:
    """moto issues every Amazon-issued certificate `MOTO_ACM_VALIDATION_WAIT` seconds after
    the request whether or not anything validates it, so a workflow that never wrote the
    validation record passed. On AWS a DNS-validated certificate stays PENDING_VALIDATION
    until the CNAME ACM names exists in public DNS. Here: it is ISSUED once a record of
    that name and value is in a Route 53 zone of the certificate's account (any region's
    certificate: Route 53 is global), and at least `ISSUE_AFTER_SECONDS` after the request."""
    from moto.acm.models import CertBundle
    from moto.core.utils import utcnow
    from moto.route53.models import route53_backends

    original = CertBundle.check

    def validated(bundle: CertBundle) -> bool:
        wanted = {
            (option["ResourceRecord"]["Name"].rstrip(".").lower(), option["ResourceRecord"]["Value"].rstrip(".").lower())
            for option in _validation_options(bundle)
        }
        if not wanted:
            return False
        account = bundle.arn.split(":")[4]
        present = set()
        for partition in route53_backends[account].values():
            for zone in partition.zones.values():
                for record in zone.rrsets:
                    if record.type != "CNAME":
                        continue
                    for value in record.records or []:
                        value = value.get("Value", "") if isinstance(value, dict) else str(value)
                        present.add((record.name.rstrip(".").lower(), value.rstrip(".").lower()))
        return wanted <= present

    def check(self: CertBundle) -> None:
        if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION":
            waited = (utcnow() - self.created_at).total_seconds()
            if waited >= ISSUE_AFTER_SECONDS and validated(self):
                self.status = "ISSUED"
            return  # never by time alone
        original(self)

    CertBundle.check = check


def _validation_options(bundle) -> list[dict]:
    # `describe` calls nothing that checks the status, so it is safe inside `check`.
    return bundle.describe()["Certificate"].get("DomainValidationOptions", [])


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(acm_certificates_are_issued_only_once_validated)
def _probe_issued_without_validation() -> Finding:
    from moto import settings

    from .probing import client

    # moto issues after this many seconds; at 0 it is at once, so no waiting here.
    saved = settings.ACM_VALIDATION_WAIT
    settings.ACM_VALIDATION_WAIT = 0
    try:
        acm = client("acm")
        arn = acm.request_certificate(DomainName="probe.example.com", ValidationMethod="DNS")["CertificateArn"]
        status = acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
    finally:
        settings.ACM_VALIDATION_WAIT = saved
    return Finding(status == "ISSUED", f"{status} without a validation record")
