#!/bin/sh
# The two database roles of trialsite (README "Database roles"). The postgres image runs this once,
# when the `db` volume is first created: the owner role runs the migrations and owns every table;
# the application role owns nothing (the `migrate` service grants it DML after each migration).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" -v owner_password="$OWNER_DB_PASSWORD" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE trialsite_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE trialsite_app LOGIN PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO trialsite_owner;
SQL
