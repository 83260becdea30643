#!/usr/bin/env bash
# Deploy the whole system to a Google Cloud project from .env.yaml, driven by functions/manifest.yaml.
#
#   ./deploy.sh [--dry-run] [--env-file .env.yaml] [--only NAME] [--skip-frontend]
#
# Idempotent: every resource is described first and created only when missing; queues and functions are updated
# in place. --dry-run prints every command and runs none. Secrets are read from your shell environment (or a
# prompt) and go straight into Secret Manager; they are never printed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

DRY_RUN=0; ENV_FILE=""; ONLY=""; SKIP_FRONTEND=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --env-file) ENV_FILE=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --skip-frontend) SKIP_FRONTEND=1 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

PY=${PYTHON:-}
[ -n "$PY" ] || { [ -x .venv/bin/python ] && PY=.venv/bin/python || PY=python3; }

die() { echo "deploy.sh: $*" >&2; exit 1; }
if [ -z "$ENV_FILE" ]; then
  ENV_FILE=.env.yaml
  # A dry run on a fresh clone shows the plan with the template's example values rather than stopping.
  if [ "$DRY_RUN" = 1 ] && [ ! -f "$ENV_FILE" ]; then
    ENV_FILE=.env.yaml.template
    echo "deploy.sh: no .env.yaml, so this dry run uses the example values of .env.yaml.template" >&2
  fi
fi
[ -f "$ENV_FILE" ] || die "$ENV_FILE not found: copy .env.yaml.template to $ENV_FILE and fill it in"

# Read one key of the env file (flat `KEY: "value"` YAML).
setting() { "$PY" -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])) or {}; print(d.get(sys.argv[2], "") or "")' "$ENV_FILE" "$1"; }

PROJECT=$(setting GCP_PROJECT); REGION=$(setting GCP_REGION); REGION=${REGION:-us-central1}
[ -n "$PROJECT" ] || die "GCP_PROJECT is not set in $ENV_FILE"
TASKS_SA=$(setting TASKS_SERVICE_ACCOUNT); TASKS_SA=${TASKS_SA:-mam-tasks@$PROJECT.iam.gserviceaccount.com}
RUNTIME_SA="mam-functions@$PROJECT.iam.gserviceaccount.com"
FUNCTIONS_BASE_URL=$(setting FUNCTIONS_BASE_URL); FUNCTIONS_BASE_URL=${FUNCTIONS_BASE_URL:-https://$REGION-$PROJECT.cloudfunctions.net}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# run CMD...: print it; execute unless --dry-run.
run() {
  printf '+ %s\n' "$*"
  [ "$DRY_RUN" = 1 ] || "$@"
}
# ensure "DESCRIBE CMD" -- CREATE CMD...: create only when describe fails (in --dry-run both are printed).
ensure() {
  local describe=$1; shift
  [ "$1" = "--" ] && shift
  printf '+ %s || \\\n    %s\n' "$describe" "$*"
  [ "$DRY_RUN" = 1 ] && return 0
  if ! eval "$describe" >/dev/null 2>&1; then "$@"; fi
}
secret_name() { echo "mam-$(echo "$1" | tr '[:upper:]_' '[:lower:]-')"; }
G="gcloud --project=$PROJECT --quiet"
# Env-var secrets are read when an instance starts, so deploys pin the newest enabled version (not "latest").
secret_version() {
  [ "$DRY_RUN" = 1 ] && { echo latest; return; }
  local v
  v=$($G secrets versions list "$1" --filter=state:ENABLED --sort-by=~createTime --limit=1 --format='value(name)')
  [ -n "$v" ] || die "secret $1 has no enabled version: export its value and run deploy.sh again"
  echo "${v##*/}"
}

mapfile -t MANIFEST < <("$PY" scripts/manifest_shell.py)
# Check every function's source before touching the project, so a broken checkout changes nothing.
for line in "${MANIFEST[@]}"; do
  set -- $line; [ "$1" = function ] || continue
  for f in main.py requirements.txt; do
    [ -f "functions/$3/$f" ] || die "functions/$3/$f is missing (needed by function $2)"
  done
done

say "APIs"
run $G services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com cloudtasks.googleapis.com firestore.googleapis.com secretmanager.googleapis.com \
  identitytoolkit.googleapis.com logging.googleapis.com

say "Service accounts and IAM"
ensure "$G iam service-accounts describe $RUNTIME_SA" -- $G iam service-accounts create mam-functions --display-name="MAM functions runtime"
ensure "$G iam service-accounts describe $TASKS_SA" -- $G iam service-accounts create "${TASKS_SA%%@*}" --display-name="MAM Cloud Tasks invoker"
for role in roles/datastore.user roles/cloudtasks.enqueuer roles/secretmanager.secretAccessor roles/logging.logWriter; do
  run $G projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$RUNTIME_SA" --role="$role" --condition=None
done
# Creating a task with an OIDC token needs actAs on the tasks service account.
run $G iam service-accounts add-iam-policy-binding "$TASKS_SA" --member="serviceAccount:$RUNTIME_SA" --role=roles/iam.serviceAccountUser

say "Secrets (Secret Manager)"
for line in "${MANIFEST[@]}"; do
  set -- $line; [ "$1" = secret ] || continue
  env_name=$2; sname=$(secret_name "$env_name")
  ensure "$G secrets describe $sname" -- $G secrets create "$sname" --replication-policy=automatic
  value=${!env_name:-}
  if [ -z "$value" ] && [ "$DRY_RUN" = 0 ] && [ -t 0 ]; then
    read -r -s -p "value for $env_name (empty keeps the current version): " value; echo
  fi
  if [ -n "$value" ]; then
    printf '+ (value of $%s) | %s secrets versions add %s --data-file=-\n' "$env_name" "$G" "$sname"
    [ "$DRY_RUN" = 1 ] || printf '%s' "$value" | $G secrets versions add "$sname" --data-file=- >/dev/null
  fi
done

say "Firestore"
ensure "$G firestore databases describe --database='(default)'" -- $G firestore databases create --location="$REGION" --type=firestore-native

# Poll-claim records of the indexing chain expire by themselves (Firestore TTL on expire_at).
run $G firestore fields ttls update expire_at --collection-group=index_hops --enable-ttl

say "Cloud Tasks queues"
for line in "${MANIFEST[@]}"; do
  set -- $line; [ "$1" = queue ] || continue
  q=$2; shift 2
  flags=()
  for kv in "$@"; do k=${kv%%=*}; v=${kv#*=}; flags+=("--${k//_/-}=$v"); done
  ensure "$G tasks queues describe $q --location=$REGION" -- $G tasks queues create "$q" --location="$REGION" "${flags[@]}"
  run $G tasks queues update "$q" --location="$REGION" "${flags[@]}"
done

say "Functions"
for line in "${MANIFEST[@]}"; do
  set -- $line; [ "$1" = function ] || continue
  name=$2; source=$3; entry=$4; exposure=$5; timeout=$6; secrets=$7
  [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || continue
  stage="build/$name"
  # Only --source is uploaded, so the shared package and the manifest are copied into each staged function.
  run rm -rf "$stage"
  run mkdir -p "$stage"
  run cp -R "functions/$source/." "$stage/"
  run cp -R functions/mam "$stage/mam"
  run cp functions/manifest.yaml "$stage/mam/manifest.yaml"
  run find "$stage" -name __pycache__ -prune -exec rm -rf {} +
  # The env file plus what deploy.sh derives (gcloud does not allow --env-vars-file with --update-env-vars).
  printf '+ write %s/.env.deploy.yaml (%s + FUNCTIONS_BASE_URL, TASKS_SERVICE_ACCOUNT, THREADS)\n' "$stage" "$ENV_FILE"
  [ "$DRY_RUN" = 1 ] || "$PY" -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])) or {}; d.update(FUNCTIONS_BASE_URL=sys.argv[3], TASKS_SERVICE_ACCOUNT=sys.argv[4], THREADS="8"); yaml.safe_dump({k: str(v) for k, v in d.items()}, open(sys.argv[2], "w"))' \
      "$ENV_FILE" "$stage/.env.deploy.yaml" "$FUNCTIONS_BASE_URL" "$TASKS_SA"
  secret_flags=""
  if [ "$secrets" != "-" ]; then
    for s in ${secrets//,/ }; do secret_flags+="${secret_flags:+,}$s=$(secret_name "$s"):$(secret_version "$(secret_name "$s")")"; done
  fi
  auth_flag=--no-allow-unauthenticated; [ "$exposure" = public ] && auth_flag=--allow-unauthenticated
  run $G functions deploy "$name" --gen2 --runtime=python312 --region="$REGION" --source="$stage" \
    --entry-point="$entry" --trigger-http "$auth_flag" --service-account="$RUNTIME_SA" \
    --env-vars-file="$stage/.env.deploy.yaml" \
    ${secret_flags:+--set-secrets="$secret_flags"} --timeout="${timeout}s" --memory=512Mi --cpu=1 --concurrency=8
  if [ "$exposure" = private ]; then
    run $G functions add-invoker-policy-binding "$name" --region="$REGION" --member="serviceAccount:$TASKS_SA"
  fi
done

if [ "$SKIP_FRONTEND" = 0 ] && [ -z "$ONLY" ]; then
  say "Front end (B2 + bunny.net)"
  run npm --prefix frontend ci --no-audit --no-fund
  run npm --prefix frontend run build
  # Uploads frontend/dist with its config.json and Cache-Control headers, and sets the bucket's CORS rule.
  run "$PY" scripts/publish_frontend.py --env-file "$ENV_FILE" --functions-base-url "$FUNCTIONS_BASE_URL"
  ZONE=$(setting BUNNY_PULL_ZONE_ID)
  if [ -n "$ZONE" ]; then
    printf '+ curl -X POST https://api.bunny.net/pullzone/%s/purgeCache -H "AccessKey: $BUNNY_API_KEY"\n' "$ZONE"
    if [ "$DRY_RUN" = 0 ]; then
      [ -n "${BUNNY_API_KEY:-}" ] || die "BUNNY_PULL_ZONE_ID is set but BUNNY_API_KEY is not in the environment"
      curl -fsS -X POST "https://api.bunny.net/pullzone/$ZONE/purgeCache" -H "AccessKey: $BUNNY_API_KEY" >/dev/null
    fi
  fi
fi

say "Done"
echo "Front-end origin: $(setting FRONTEND_ORIGIN)   Functions: $FUNCTIONS_BASE_URL/<name>"
echo "B2 event notifications: add a rule on prefix $(setting VIDEOS_PREFIX) targeting $FUNCTIONS_BASE_URL/library/b2-events (see README)."
