"""Catalogue: regions, workshops (共富工坊), brand families, products, variants, stock and images."""
