"""Presence mappings: which Teams presence puts an agent in which idle code, and which contact-center
state shows as which Teams presence. Validated, stored per tenant, cached briefly for the sync worker."""
