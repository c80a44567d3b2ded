from hypothesis import HealthCheck, settings

# CI machines are small and busy: never fail a property test on timing.
settings.register_profile("turktui", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("turktui")
