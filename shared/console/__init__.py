"""The admin console and expert directory pages the Function App serves at /api/console/.

Backend-for-frontend: the browser never holds a token. The server signs the user in with Entra ID
(authorization code + PKCE through MSAL), verifies the access token it gets for the connector's own API
with the same verifier bearer tokens go through, and keeps the verified principal in a sealed,
short-lived HttpOnly cookie. The pages call the same admin API as curl does; the cookie is one more
credential source of the authenticator, and every state-changing call also carries the session's CSRF
token in a header.
"""
