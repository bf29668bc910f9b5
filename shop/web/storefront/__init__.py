"""The buyer storefront pages (买家商城): home, search, product, workshop, cart, checkout and orders.

Server-rendered, mobile first, zh-CN with an English switch; every page calls the existing services (catalogue,
search, cart, checkout, orders, logistics, payments, receipts) and duplicates none of their rules.
"""
