"""The money ledger: where every paid fen went (workshop revenue, service-centre fee, streamer commission)."""
