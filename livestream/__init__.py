"""Livestream (村播): shared studios, broadcast sessions, sales attribution, live figures and leaderboards."""
