"""Who is calling: principals, the Entra access-token verifier, credential sources and route policies."""
