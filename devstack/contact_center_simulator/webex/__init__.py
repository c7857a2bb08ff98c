"""Webex Contact Center as its published contract describes it: OAuth (webexapis.com), subscriptions
with signed CloudEvents deliveries, the agent state API, v2 auxiliary codes and agent activities."""
