-- Run once by the postgres image, on first start with an empty data volume, as POSTGRES_USER
-- (helpdesk). The image itself creates the `helpdesk` database from POSTGRES_DB; this adds the
-- second one, for Rasa's SQL tracker store. Both belong to the same role.
CREATE DATABASE rasa_tracker OWNER helpdesk;
