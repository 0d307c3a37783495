"""Genesys Cloud regions: one domain per region, from which the API, login and agent UI hosts derive."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    key: str  # the SDK's region name, e.g. "eu_west_1"
    domain: str  # e.g. "mypurecloud.ie"
    api_base_url: str
    login_base_url: str
    apps_origin: str  # the agent UI origin that frames client apps
    target_env: str | None  # the `gcTargetEnv` name; None where Genesys publishes none

    @property
    def label(self) -> str:
        return f"{self.domain} ({self.key})"


def _region(key: str, domain: str, target_env: str | None) -> Region:
    return Region(
        key=key,
        domain=domain,
        api_base_url=f"https://api.{domain}",
        login_base_url=f"https://login.{domain}",
        apps_origin=f"https://apps.{domain}",
        target_env=target_env,
    )


REGIONS: tuple[Region, ...] = (
    _region("us_east_1", "mypurecloud.com", "prod"),
    _region("us_east_2", "use2.us-gov-pure.cloud", "fedramp-use2-core"),
    _region("us_west_2", "usw2.pure.cloud", "prod-usw2"),
    _region("ca_central_1", "cac1.pure.cloud", "prod-cac1"),
    _region("sa_east_1", "sae1.pure.cloud", "prod-sae1"),
    _region("mx_central_1", "mxc1.pure.cloud", "prod-mxc1"),
    _region("eu_west_1", "mypurecloud.ie", "prod-euw1"),
    _region("eu_west_2", "euw2.pure.cloud", "prod-euw2"),
    _region("eu_central_1", "mypurecloud.de", "prod-euc1"),
    _region("eu_central_2", "euc2.pure.cloud", "prod-euc2"),
    _region("me_central_1", "mec1.pure.cloud", "prod-mec1"),
    _region("ap_south_1", "aps1.pure.cloud", "prod-aps1"),
    _region("ap_southeast_1", "apse1.pure.cloud", "prod-apse1"),
    _region("ap_southeast_2", "mypurecloud.com.au", "prod-apse2"),
    _region("ap_northeast_1", "mypurecloud.jp", "prod-apne1"),
    _region("ap_northeast_2", "apne2.pure.cloud", "prod-apne2"),
    _region("ap_northeast_3", "apne3.pure.cloud", "prod-apne3"),
    # EU sovereign cloud: the apps host follows the usual pattern; no published environment name.
    _region("eusc_de_east_1", "edee1.eusc-pure.cloud", None),
)

_BY_DOMAIN = {region.domain: region for region in REGIONS}
_BY_KEY = {region.key: region for region in REGIONS}

# (value stored, label shown) pairs for a form select; the stored value is the domain.
REGION_CHOICES: tuple[tuple[str, str], ...] = tuple((region.domain, region.label) for region in REGIONS)


def resolve_region(value: str) -> Region:
    """Find a region by its domain ("mypurecloud.ie") or SDK key ("eu_west_1")."""
    cleaned = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.rstrip("/")
    # People paste hosts such as "apps.mypurecloud.ie" or "login.mypurecloud.ie".
    for host_prefix in ("api.", "login.", "apps."):
        if cleaned.startswith(host_prefix) and cleaned.removeprefix(host_prefix) in _BY_DOMAIN:
            cleaned = cleaned.removeprefix(host_prefix)
    region = _BY_DOMAIN.get(cleaned) or _BY_KEY.get(cleaned.replace("-", "_"))
    if region is None:
        raise ValueError(
            f"Unknown Genesys Cloud region {value!r}: give the region's domain (e.g. mypurecloud.ie) "
            "or its SDK name (e.g. eu_west_1)"
        )
    return region
