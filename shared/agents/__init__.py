"""The roster of contact-center agents whose Teams presence the connector syncs (issue #3, "Agents")."""
