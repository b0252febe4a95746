"""nestlab's client side: the local dev stack today; the SDK and CLI grow here."""
