"""The tenants the emulator serves: a GUID and a verified domain each."""
import uuid


class Tenant:
    def __init__(self, tid, domain):
        self.id = str(uuid.UUID(tid))
        self.domain = domain.lower()
        # Display name as Entra shows it: "Contoso" for contoso.example.
        self.display_name = self.domain.split(".")[0].capitalize()

    def as_json(self):
        return {"tenant_id": self.id, "tenant_domain": self.domain}


class Tenants:
    """Lookup by id (any letter case) or domain (any letter case)."""

    def __init__(self, tenants):
        self._list = list(tenants)
        self.primary = self._list[0]

    def __iter__(self):
        return iter(self._list)

    def by_id(self, tid):
        try:
            tid = str(uuid.UUID(tid))
        except (ValueError, TypeError, AttributeError):
            return None
        return next((t for t in self._list if t.id == tid), None)

    def lookup(self, key):
        """A tenant by id or domain, as in discovery and login paths."""
        t = self.by_id(key)
        if t is None and isinstance(key, str):
            t = next((t for t in self._list if t.domain == key.lower()), None)
        return t
