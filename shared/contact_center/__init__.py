"""The contact-center side of presence sync: the port, Webex and webhook adapters, inbound agent events."""
