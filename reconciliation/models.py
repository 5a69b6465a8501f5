"""Bank statements and their matches to payouts and collections."""
