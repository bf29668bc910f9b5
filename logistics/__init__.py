"""Logistics (丽水山递): county hub → township station → village pickup point, dispatch, pickup codes, returns."""
