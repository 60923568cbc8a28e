-- A recovery from the recovery words names no vault: the relay finds the
-- vault by its token hash (wire::VAULT_BY_KEY), and tells a wiped vault
-- from a wrong key the same way.
CREATE INDEX vaults_token_hash ON vaults (token_hash);
