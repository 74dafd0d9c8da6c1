-- Attempts logged before this version kept up to 1 KiB of each receiver's
-- answer, which may echo the payload (personal data). The log now keeps
-- the answer's headers only (webhook.responseHeaders): forget the bodies.
UPDATE wh_attempts SET response = '';
