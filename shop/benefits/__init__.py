"""Benefit settlement and monthly dividend statements (利益联结: 劳务, 保底收购, 入股分红, 主播佣金)."""
