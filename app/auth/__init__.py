"""Who may do what: users and roles, sessions and API tokens, CSRF, rate limits, audit trail."""
