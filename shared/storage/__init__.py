"""Azure Table Storage adapters behind the ports of each area."""
