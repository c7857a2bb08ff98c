"""Trigger adapters (Functions blueprints): parse input, call one service method, map errors."""
