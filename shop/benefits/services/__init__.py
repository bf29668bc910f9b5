"""Benefit services, split by concern: members, labour, purchase, equity, close, statements, links, rendering."""
