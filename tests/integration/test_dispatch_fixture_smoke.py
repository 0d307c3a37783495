from tests.fixtures.genesys_sim import genesys_sim, genesys_tenant, tenant  # noqa: F401
from web.genesys import settings_store


async def test_the_tenant_is_provisioned_against_the_simulator(genesys_tenant, genesys_sim, settings):
    loaded = await settings_store.load(genesys_tenant.app_id, settings.secret_key)
    assert loaded.provisioned
    assert loaded.credentials.api_base_url == genesys_sim.url
    assert genesys_sim.conversations() == []
