"""What this connector relies on of Webex's published contract, in one place.

Sources: github.com/webex/webex-openapi-specs (`public-spec/webex-contact-center.json`, `webex-admin.json`)
and developer.webex.com (authentication, Contact Center webhooks). Each constant says how sure it is;
README "Webex Contact Center: verified and assumed" repeats the table for admins.
"""

from __future__ import annotations

from typing import Final

from shared.contact_center.model import AgentState

# -- OAuth (verified: Webex authentication guide) ------------------------------------------------------
DEFAULT_AUTHORIZE_URL: Final = "https://webexapis.com/v1/authorize"
DEFAULT_TOKEN_URL: Final = "https://webexapis.com/v1/access_token"  # noqa: S105 - a URL, not a secret
# cjp:config_read: list subscriptions and idle codes; cjp:config_write: create / delete subscriptions;
# cjp:user: agent state changes and activities (spec descriptions). spark:people_read: GET /people/me,
# which says the signed-in user's organisation.
SCOPES: Final = ("cjp:config_read", "cjp:config_write", "cjp:user", "spark:people_read")
# Assumed: /people/me lives beside the token endpoint (both under https://webexapis.com/v1).
PEOPLE_ME_PATH: Final = "/people/me"
# Assumed: Webex org ids in the people API are base64 of `ciscospark://<cluster>/ORGANIZATION/<uuid>`.
ORGANIZATION_URI_MARKER: Final = "/ORGANIZATION/"
# RFC 6749 §5.2: the refresh token is revoked or expired; the admin must sign in again.
INVALID_GRANT: Final = "invalid_grant"

# -- Subscriptions (verified: spec SubscriptionRequest) ------------------------------------------------
SUBSCRIPTIONS_PATH: Final = "/v1/subscriptions"
SUBSCRIPTION_NAME: Final = "Teams presence connector"
SUBSCRIPTION_DESCRIPTION: Final = "Agent events for the Teams <-> Webex Contact Center presence connector"
# v1 names (CC webhooks guide). v2 may rename the state event (agent:channel_state_change): unverified.
AGENT_EVENT_TYPES: Final = ("agent:login", "agent:logout", "agent:state_change")
MIN_SECRET_LENGTH: Final = 32
MAX_SECRET_LENGTH: Final = 256

# -- Deliveries (likely: CC webhooks guide capture + independent implementations) ----------------------
SIGNATURE_HEADER: Final = "X-WebexCC-Signature"
# Webex answers nothing else but a 2xx quickly; it retries otherwise.
MAX_DELIVERY_BYTES: Final = 64 * 1024

# -- Agent state (verified: spec StateResourceRequest) -------------------------------------------------
STATE_PATH: Final = "/v1/agents/session/state"
ACTIVITIES_PATH: Final = "/v1/agents/activities"
AVAILABLE_AUX_CODE_ID: Final = "0"
MAX_REASON_LENGTH: Final = 128
# Our own state changes carry this at the start of lastStateChangeReason, so the event they cause is
# recognised as an echo however late it arrives (when Webex echoes the reason back: assumed).
CONNECTOR_REASON_MARKER: Final = "[teams-connector]"

# -- Idle codes (verified: spec, v2 list with paging meta) ---------------------------------------------
AUX_CODE_PATH_TEMPLATE: Final = "/organization/{org_id}/v2/auxiliary-code"
IDLE_CODE_WORK_TYPE: Final = "IDLE_CODE"

# -- Webex agent states in our vocabulary (lower case, separators removed) ------------------------------
# Verified names: Available, Idle, RONA (idle after a missed offer), LoggedOut; the channel states
# (ringing / reserved / offered, connected / engaged, wrapup) come from the CC webhooks guide samples.
WEBEX_STATES: Final[dict[str, AgentState]] = {
    "available": AgentState.AVAILABLE,
    "idle": AgentState.IDLE,
    "rona": AgentState.IDLE,
    "ringing": AgentState.RINGING,
    "offered": AgentState.RINGING,
    "reserved": AgentState.RINGING,
    "connected": AgentState.ON_CALL,
    "engaged": AgentState.ON_CALL,
    "hold": AgentState.ON_CALL,
    "consulting": AgentState.ON_CALL,
    "conferencing": AgentState.ON_CALL,
    "wrapup": AgentState.WRAP_UP,
    "loggedout": AgentState.LOGGED_OUT,
    "logout": AgentState.LOGGED_OUT,
}
# Where an event's `data` carries the idle code: the first of these that is present (unverified names).
IDLE_CODE_ID_FIELDS: Final = ("auxCodeId", "idleCodeId", "idleCode")
IDLE_CODE_NAME_FIELDS: Final = ("auxCodeName", "idleCodeName")
REASON_FIELDS: Final = ("lastStateChangeReason", "stateChangeReason", "reason")


def normalise_state(value: str) -> str:
    return "".join(c for c in value.lower() if c.isalnum())
