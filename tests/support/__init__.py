"""Helpers shared by test tiers (never imported by the product)."""
