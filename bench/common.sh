# Sourced by the bench scripts (run.sh, scale.sh, soak.sh).

# backend_of SCRIPT [ARG]: prints sqlite or postgres (default sqlite), or
# the script's usage line and exits 2.
backend_of() {
  case "${2:-sqlite}" in
    sqlite | postgres) echo "${2:-sqlite}" ;;
    *) echo "usage: bench/$1 [sqlite|postgres]" >&2; exit 2 ;;
  esac
}

# fresh_database BACKEND NAME: exports DATABASE_URL for a new, empty
# database: a file in $work on SQLite; on PostgreSQL a database NAME_$$
# on 127.0.0.1:5432, whose name is left in $pg_db for the cleanup to drop,
# with `?sslmode=$SSLMODE` when SSLMODE is set (unset: libpq's `prefer`,
# TLS when the server offers it).
fresh_database() {
  if [ "$1" = sqlite ]; then
    export DATABASE_URL="sqlite://$work/$2.db?mode=rwc"
  else
    pg_db="authql_$2_$$"
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pg_db" >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pg_db${SSLMODE:+?sslmode=$SSLMODE}"
  fi
}
