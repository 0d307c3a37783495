import pytest

from web.genesys.client import GenesysCredentials
from web.genesys.regions import REGION_CHOICES, REGIONS, resolve_region


def test_domain_and_sdk_key_resolve_to_the_same_region_with_its_three_hosts():
    by_domain = resolve_region("mypurecloud.ie")
    assert resolve_region("eu_west_1") is by_domain
    assert by_domain.key == "eu_west_1"
    assert by_domain.api_base_url == "https://api.mypurecloud.ie"
    assert by_domain.login_base_url == "https://login.mypurecloud.ie"
    assert by_domain.apps_origin == "https://apps.mypurecloud.ie"
    assert by_domain.target_env == "prod-euw1"


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        (" MyPureCloud.com ", "mypurecloud.com"),
        ("https://apps.mypurecloud.de/", "mypurecloud.de"),
        ("login.mypurecloud.com.au", "mypurecloud.com.au"),
        ("ap-northeast-1", "mypurecloud.jp"),
        ("us_east_2", "use2.us-gov-pure.cloud"),
    ],
)
def test_pasted_variants_are_understood(value, domain):
    assert resolve_region(value).domain == domain


@pytest.mark.parametrize("value", ["", "mypurecloud.fr", "eu_west_9", "api.example.com"])
def test_unknown_region_is_refused_with_a_helpful_message(value):
    with pytest.raises(ValueError, match=r"region .*mypurecloud\.ie.*eu_west_1"):
        resolve_region(value)


def test_table_matches_the_published_environment_names():
    envs = {region.domain: region.target_env for region in REGIONS}
    assert envs["mypurecloud.com"] == "prod"
    assert envs["usw2.pure.cloud"] == "prod-usw2"
    assert envs["mypurecloud.com.au"] == "prod-apse2"
    assert envs["edee1.eusc-pure.cloud"] is None
    assert len(REGIONS) == len({region.domain for region in REGIONS}) == 18


def test_choices_store_the_domain_and_show_both_names():
    assert ("mypurecloud.ie", "mypurecloud.ie (eu_west_1)") in REGION_CHOICES
    assert [value for value, _ in REGION_CHOICES] == [region.domain for region in REGIONS]


def test_credentials_take_hosts_from_the_region_unless_overridden_and_hide_the_secret():
    creds = GenesysCredentials.for_region("mypurecloud.de", "cid", "very-secret-value")
    assert creds.api_base_url == "https://api.mypurecloud.de"
    assert creds.login_base_url == "https://login.mypurecloud.de"
    assert "very-secret-value" not in repr(creds)

    sim = GenesysCredentials.for_region(
        "mypurecloud.com",
        "cid",
        "s",
        login_base_url="http://127.0.0.1:8090/",
        api_base_url="http://127.0.0.1:8090",
    )
    assert sim.login_base_url == sim.api_base_url == "http://127.0.0.1:8090"
    with pytest.raises(ValueError):
        GenesysCredentials.for_region("nowhere.example", "cid", "s")
