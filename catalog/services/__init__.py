"""Catalogue use cases."""

from __future__ import annotations

from catalog.services.brands import BrandService
from catalog.services.images import ImageService
from catalog.services.products import ProductService
from catalog.services.regions import RegionService
from catalog.services.workshops import WorkshopService

__all__ = ["BrandService", "ImageService", "ProductService", "RegionService", "WorkshopService"]
