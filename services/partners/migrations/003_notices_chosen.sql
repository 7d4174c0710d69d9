-- Whether the notice went to a partner the usager chose (an optional
-- entitlement, with their consent), or to one the law entitles.
ALTER TABLE notices ADD COLUMN chosen boolean NOT NULL DEFAULT false;
