#!/bin/sh
# The stand-in's entrypoint: as root, hand the data directory to postgres and start again as
# postgres; as postgres, create the cluster, user and database on first start, then run the
# command (the server).
set -eu

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    : "${POSTGRES_PASSWORD:?the stand-in, like the official image, needs POSTGRES_PASSWORD}"
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    initdb --username="$user" --pwfile="$password_file" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    database=${POSTGRES_DB:-$user}
    if [ "$database" != postgres ]; then
        # Local socket only while the database is created, as the official entrypoint does.
        pg_ctl --wait --silent -o "-c listen_addresses=''" start
        createdb --username="$user" --owner="$user" "$database"
        pg_ctl --wait --silent -m fast stop
    fi
    echo "stand-in: created the cluster, user $user and database $database"
fi

exec "$@"
