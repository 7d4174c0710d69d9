-- Sign-in (DESIGN.md §13). A login in progress: its state, nonce and PKCE
-- verifier, kept here (not in the browser) and taken once by the callback.
CREATE TABLE oidc_logins (
    state         text PRIMARY KEY,
    nonce         text NOT NULL,
    code_verifier text NOT NULL,
    return_to     text NOT NULL,
    expires_at    timestamptz NOT NULL
);

-- A session, under the SHA-256 of its cookie: the table alone opens none.
-- claims are the ID token's (the pivot identity); id_token is kept for the
-- provider's sign-out (id_token_hint).
CREATE TABLE sessions (
    session_hash text PRIMARY KEY,
    sub          text NOT NULL,
    role         text NOT NULL CHECK (role IN ('usager', 'agent')),
    claims       jsonb NOT NULL,
    id_token     text NOT NULL,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Each usager who signed in once: their sub and pivot key, for mandates.
CREATE TABLE usagers (
    sub          text PRIMARY KEY,
    pivot_key    text NOT NULL,
    signed_in_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usagers_pivot ON usagers (pivot_key);

-- A France services agent acts for a usager who is present (mandates.c):
-- who (the usager's pivot identity and its key; their sub once they have
-- signed in), when, for which kind of démarche, at which site.
CREATE TABLE mandates (
    mandate_id  uuid PRIMARY KEY,
    agent_sub   text NOT NULL,
    site        text NOT NULL,
    kind        text NOT NULL,
    usager      jsonb NOT NULL,
    pivot_key   text NOT NULL,
    usager_sub  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX mandates_agent ON mandates (agent_sub, created_at DESC);
CREATE INDEX mandates_pivot ON mandates (pivot_key);
CREATE INDEX mandates_usager ON mandates (usager_sub);

ALTER TABLE journeys ADD COLUMN mandate_id uuid REFERENCES mandates;
CREATE INDEX journeys_mandate ON journeys (mandate_id) WHERE mandate_id IS NOT NULL;
