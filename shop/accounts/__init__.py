"""Accounts: people and devices that use the hub, their roles and their workshop scope."""
