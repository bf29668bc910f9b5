"""Workshop Sales Hub: app factory and cross-cutting modules (settings, db, auth, money, errors, CLI)."""
