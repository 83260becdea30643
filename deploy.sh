#!/usr/bin/env bash
# Deploy the whole system to a Google Cloud project from .env.yaml, driven by functions/manifest.yaml.
#
#   ./deploy.sh [--dry-run] [--env-file .env.yaml] [--only NAME] [--skip-frontend] [--redeploy]
#   ./deploy.sh [--env-file .env.yaml] --verify [--local] [...]   check a live deployment and say what to fix
#                                     (options after --verify: scripts/verify_deployment.py --help)
#
# Safe to run again: everything is read first and changed only when it differs from what is wanted (APIs, service
# accounts, IAM bindings, secrets compared by hash, the database, TTL policies, composite indexes, queue settings, and each function by
# a hash of its staged source and flags; --redeploy deploys the functions anyway). A required secret missing from
# both your shell and Secret Manager stops the run before anything changes; an optional one is skipped and the
# feature that needs it is reported off. --dry-run prints the plan and calls nothing. Secrets come from your shell
# environment (or a prompt) and go straight into Secret Manager; they are never printed.
set -euo pipefail
cd "$(dirname "$0")"

DRY_RUN=0; ENV_FILE=""; ONLY=""; SKIP_FRONTEND=0; REDEPLOY=0; VERIFY=0; VERIFY_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --env-file) ENV_FILE=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --skip-frontend) SKIP_FRONTEND=1 ;;
    --redeploy) REDEPLOY=1 ;;
    --verify) VERIFY=1; shift; VERIFY_ARGS=("$@"); break ;;  # the rest is for scripts/verify_deployment.py
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

PY=${PYTHON:-}
[ -n "$PY" ] || { [ -x .venv/bin/python ] && PY=.venv/bin/python || PY=python3; }
die() { echo "deploy.sh: $*" >&2; exit 1; }

if [ "$VERIFY" = 1 ]; then
  [ -z "$ENV_FILE" ] || VERIFY_ARGS=(--env-file "$ENV_FILE" "${VERIFY_ARGS[@]}")
  exec "$PY" scripts/verify_deployment.py "${VERIFY_ARGS[@]}"
fi

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
# Builds run as our own account: since Cloud Build's 2024 change a new project's default build account (the
# Compute Engine default one) may lack the rights to build a function.
BUILD_SA="mam-build@$PROJECT.iam.gserviceaccount.com"
FUNCTIONS_BASE_URL=$(setting FUNCTIONS_BASE_URL); FUNCTIONS_BASE_URL=${FUNCTIONS_BASE_URL:-https://$REGION-$PROJECT.cloudfunctions.net}
VIDEOS_PREFIX=$(setting VIDEOS_PREFIX)
G="gcloud --project=$PROJECT --quiet"
STATE="$PY scripts/deploy_state.py"

# Everything a fresh project needs for what we deploy. cloudresourcemanager serves the project IAM policy;
# storage holds the functions' uploaded sources; iam creates the service accounts.
APIS=(iam.googleapis.com cloudresourcemanager.googleapis.com serviceusage.googleapis.com storage.googleapis.com
      cloudbuild.googleapis.com artifactregistry.googleapis.com run.googleapis.com cloudfunctions.googleapis.com
      cloudtasks.googleapis.com firestore.googleapis.com secretmanager.googleapis.com identitytoolkit.googleapis.com
      logging.googleapis.com)
RUNTIME_ROLES=(roles/datastore.user roles/cloudtasks.enqueuer roles/secretmanager.secretAccessor roles/logging.logWriter)
# Firestore collections whose documents carry an expiry timestamp: collection:field (tests/deploy checks the code
# for any other collection written with such a field).
TTL_POLICIES=(index_hops:expire_at b2_events:expire_at insight_hops:expire_at)

CHANGES=0
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ok() { printf '  ok: %s\n' "$*"; }
note() { printf '  note: %s\n' "$*"; }
# run CMD...: print it; execute unless --dry-run (local commands: staging, npm).
run() {
  printf '+ %s\n' "$*"
  [ "$DRY_RUN" = 1 ] || "$@"
}
# gc ARGS...: a gcloud call that changes the project: print it, run it (its stdout is a policy/resource dump).
gc() {
  printf '+ %s %s\n' "$G" "$*"
  [ "$DRY_RUN" = 1 ] && return 0
  CHANGES=$((CHANGES + 1))
  $G "$@" >/dev/null
}
# gc_retry ARGS...: gc, retried while a just-created service account is not yet visible to IAM.
gc_retry() {
  local i
  for i in 1 2 3 4; do
    gc "$@" && return 0
    [ "$i" = 4 ] && return 1
    note "IAM may not see a new service account yet; trying again in $((i * 5))s"
    sleep $((i * 5))
  done
}
# read_gc ARGS...: a read-only gcloud call; its output, or failure (NOT_FOUND and the like) with nothing printed.
read_gc() { $G "$@" 2>/dev/null; }
secret_name() { echo "mam-$(echo "$1" | tr '[:upper:]_' '[:lower:]-')"; }
# newest_version SECRET: the newest enabled version number, or failure when there is none (or no such secret).
newest_version() {
  local v
  v=$(read_gc secrets versions list "$1" --filter=state:ENABLED --sort-by=~createTime --limit=1 --format='value(name)') || return 1
  [ -n "$v" ] || return 1
  echo "${v##*/}"
}
secret_hint() {
  case "$1" in
    B2_APPLICATION_KEY) echo "the application key of B2_KEY_ID (Backblaze console > Application Keys)" ;;
    TRANSLOADIT_AUTH_SECRET) echo "the auth secret of TRANSLOADIT_AUTH_KEY (TransloadIt console > Credentials)" ;;
    TWELVELABS_API_KEY) echo "your Twelve Labs API key (Twelve Labs dashboard > API Key)" ;;
    BZ_SHARED_SECRET) echo "a long random string you choose (e.g. openssl rand -hex 32); iconik sends it in x-bz-secret" ;;
    TWELVELABS_WEBHOOK_SECRET) echo "the signing secret of a Twelve Labs webhook targeting $FUNCTIONS_BASE_URL/index_videos/webhook" ;;
    B2_EVENT_SIGNING_SECRET) echo "the signing secret B2 shows once an event-notification rule targets $FUNCTIONS_BASE_URL/library/b2-events" ;;
    *) echo "see .env.yaml.template" ;;
  esac
}
feature_off() {
  case "$1" in
    TWELVELABS_WEBHOOK_SECRET) echo "Twelve Labs webhooks are off: index_videos /webhook answers 404 and videos still reach Ready through the follow tasks, a little later. To turn them on, add a webhook in the Twelve Labs dashboard targeting $FUNCTIONS_BASE_URL/index_videos/webhook, export TWELVELABS_WEBHOOK_SECRET and run ./deploy.sh again." ;;
    B2_EVENT_SIGNING_SECRET) echo "B2 event notifications are off: library /b2-events answers 404, so a video put straight into the bucket appears only after a signed-in user runs a sync (POST /library/sync). To turn them on, add a B2 event-notification rule (object created and deleted, prefix ${VIDEOS_PREFIX:-videos/}) targeting $FUNCTIONS_BASE_URL/library/b2-events, export the signing secret B2 shows as B2_EVENT_SIGNING_SECRET and run ./deploy.sh again." ;;
    *) echo "$1 is not set, so the functions that use it run without it." ;;
  esac
}

mapfile -t MANIFEST < <("$PY" scripts/manifest_shell.py)
# Check every function's source before touching the project, so a broken checkout changes nothing.
for line in "${MANIFEST[@]}"; do
  set -- $line; [ "$1" = function ] || continue
  for f in main.py requirements.txt; do
    [ -f "functions/$3/$f" ] || die "functions/$3/$f is missing (needed by function $2)"
  done
done
if [ -n "$ONLY" ] && ! printf '%s\n' "${MANIFEST[@]}" | grep -q "^function $ONLY "; then
  die "--only $ONLY: no such function in functions/manifest.yaml"
fi

say "Checks (nothing is changed yet)"
if [ "$DRY_RUN" = 0 ]; then
  command -v gcloud >/dev/null || die "gcloud not found: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), then run gcloud auth login"
  read_gc projects describe "$PROJECT" --format='value(projectNumber)' >/dev/null \
    || die "cannot read project $PROJECT: sign in with 'gcloud auth login' and check GCP_PROJECT in $ENV_FILE (the project must exist and have billing enabled)"
  ok "project $PROJECT is readable"
fi
# Where each secret comes from: shell (a value to store), stored (Secret Manager keeps its version), missing,
# or unknown (a dry run does not look).
declare -A SECRET_FROM=()
SECRETS=(); MISSING_REQUIRED=(); FEATURES_OFF=()
mapfile -t SECRET_PLAN < <($STATE secrets-plan)  # read first: the loop may prompt on stdin
for plan in "${SECRET_PLAN[@]}"; do
  read -r env_name need <<<"$plan"
  SECRETS+=("$env_name"); sname=$(secret_name "$env_name")
  value=${!env_name:-}
  if [ -n "$value" ]; then SECRET_FROM[$env_name]=shell
  elif [ "$DRY_RUN" = 1 ]; then SECRET_FROM[$env_name]=unknown
  elif newest_version "$sname" >/dev/null; then SECRET_FROM[$env_name]=stored
  else
    # In neither place: ask when someone is at the terminal (input hidden; empty skips it).
    if [ -t 0 ]; then
      read -r -s -p "value for $env_name ($need, $(secret_hint "$env_name"); empty skips it): " value; echo
      [ -z "$value" ] || export "$env_name=$value"
    fi
    if [ -n "$value" ]; then SECRET_FROM[$env_name]=shell
    else
      SECRET_FROM[$env_name]=missing
      if [ "$need" = required ]; then MISSING_REQUIRED+=("$env_name"); else FEATURES_OFF+=("$env_name"); fi
    fi
  fi
  case "${SECRET_FROM[$env_name]}" in
    shell) ok "$env_name: from your shell ($need)" ;;
    stored) ok "$env_name: kept as it is in Secret Manager ($need; not in your shell)" ;;
    unknown) note "$env_name ($need) is not in your shell: a real run keeps Secret Manager's value; if it has none, $( [ "$need" = required ] && echo "the run stops before changing anything" || echo "the feature that needs it is left off")" ;;
    missing) [ "$need" = required ] || note "$env_name (optional) is in neither your shell nor Secret Manager: skipped" ;;
  esac
done
if [ ${#MISSING_REQUIRED[@]} -gt 0 ]; then
  {
    echo "deploy.sh: stopped before changing anything; these required secrets are in neither your shell nor Secret Manager:"
    for n in "${MISSING_REQUIRED[@]}"; do echo "  - $n: $(secret_hint "$n")"; done
    echo "Export each one in this shell (e.g. read -rs ${MISSING_REQUIRED[0]} && export ${MISSING_REQUIRED[0]}) and run ./deploy.sh again;"
    echo "deploy.sh stores them in Secret Manager and never prints them."
  } >&2
  exit 1
fi

say "APIs"
if [ "$DRY_RUN" = 1 ]; then
  gc services enable "${APIS[@]}"
else
  enabled=$($G services list --enabled --format='value(config.name)')
  missing=()
  for api in "${APIS[@]}"; do grep -qx "$api" <<<"$enabled" || missing+=("$api"); done
  if [ ${#missing[@]} -gt 0 ]; then gc services enable "${missing[@]}"; else ok "every API needed is enabled"; fi
fi

say "Service accounts and IAM"
# ensure_sa EMAIL DISPLAY-NAME: create the account (in this project) unless it exists.
ensure_sa() {
  if [ "$DRY_RUN" = 0 ] && read_gc iam service-accounts describe "$1" >/dev/null; then ok "service account $1 exists"; return; fi
  gc iam service-accounts create "${1%%@*}" --display-name="$2"
}
ensure_sa "$RUNTIME_SA" "MAM functions runtime"
ensure_sa "$TASKS_SA" "MAM Cloud Tasks invoker"
ensure_sa "$BUILD_SA" "MAM function builds"
PROJECT_POLICY='{}'
[ "$DRY_RUN" = 1 ] || PROJECT_POLICY=$($G projects get-iam-policy "$PROJECT" --format=json)
grant_project() {  # ROLE MEMBER
  if [ "$DRY_RUN" = 0 ] && $STATE has-binding "$1" "$2" <<<"$PROJECT_POLICY"; then ok "$2 has $1"; return; fi
  gc_retry projects add-iam-policy-binding "$PROJECT" --member="$2" --role="$1" --condition=None
}
for role in "${RUNTIME_ROLES[@]}"; do grant_project "$role" "serviceAccount:$RUNTIME_SA"; done
# The build account needs the Cloud Build builder role (logs, sources, Artifact Registry images).
grant_project roles/cloudbuild.builds.builder "serviceAccount:$BUILD_SA"
# Creating a task with an OIDC token needs actAs on the tasks service account.
tasks_policy='{}'
if [ "$DRY_RUN" = 0 ]; then
  for i in 1 2 3 4; do tasks_policy=$(read_gc iam service-accounts get-iam-policy "$TASKS_SA" --format=json) && break; sleep $((i * 5)); done
fi
if [ "$DRY_RUN" = 0 ] && $STATE has-binding roles/iam.serviceAccountUser "serviceAccount:$RUNTIME_SA" <<<"$tasks_policy"; then
  ok "serviceAccount:$RUNTIME_SA may act as $TASKS_SA"
else
  gc_retry iam service-accounts add-iam-policy-binding "$TASKS_SA" --member="serviceAccount:$RUNTIME_SA" --role=roles/iam.serviceAccountUser
fi

say "Secrets (Secret Manager)"
declare -A SECRET_REF=()  # ENV_NAME -> secret:version pinned by the functions' --set-secrets
for env_name in "${SECRETS[@]}"; do
  sname=$(secret_name "$env_name")
  case "${SECRET_FROM[$env_name]}" in
    shell)
      if [ "$DRY_RUN" = 0 ] && read_gc secrets describe "$sname" >/dev/null; then :; else
        gc secrets create "$sname" --replication-policy=automatic
      fi
      version=""
      [ "$DRY_RUN" = 1 ] || version=$(newest_version "$sname") || version=""
      # Compared by hash: an unchanged value adds no new version (and so redeploys nothing).
      if [ -n "$version" ] && read_gc secrets versions access "$version" --secret="$sname" --format='get(payload.data)' \
           | $STATE secret-same "$env_name"; then
        ok "$sname: version $version already holds the value in your shell"
      else
        printf '+ (value of $%s) | %s secrets versions add %s --data-file=-\n' "$env_name" "$G" "$sname"
        if [ "$DRY_RUN" = 0 ]; then
          printf '%s' "${!env_name}" | $G secrets versions add "$sname" --data-file=- >/dev/null
          CHANGES=$((CHANGES + 1))
        fi
      fi
      ;;
    stored) ok "$sname: keeping its current version" ;;
    unknown) note "$sname: not in your shell; nothing to store" ;;
    missing) note "$sname: skipped ($env_name is optional and has no value)" ;;
  esac
  if [ "${SECRET_FROM[$env_name]}" != missing ]; then
    # Env-var secrets are read when an instance starts, so deploys pin the newest enabled version (not "latest").
    version=latest
    if [ "$DRY_RUN" = 0 ]; then
      version=$(newest_version "$sname") || die "secret $sname has no enabled version: export $env_name and run deploy.sh again"
    fi
    SECRET_REF[$env_name]="$sname:$version"
  fi
done

say "Firestore"
if [ "$DRY_RUN" = 0 ] && read_gc firestore databases describe --database='(default)' >/dev/null; then
  ok "database (default) exists"
else
  gc firestore databases create --location="$REGION" --type=firestore-native
fi
# Claim records expire by themselves: a TTL policy per collection that carries an expiry field.
ttls=""
[ "$DRY_RUN" = 1 ] || ttls=$($G firestore fields ttls list --format='value(name,ttlConfig.state)')
for policy in "${TTL_POLICIES[@]}"; do
  collection=${policy%%:*}; field=${policy#*:}
  if [ "$DRY_RUN" = 0 ] && $STATE ttl-on "$collection" "$field" <<<"$ttls"; then
    ok "TTL policy on $collection.$field"
  else
    # --async: applying a TTL policy is a long-running operation; documents written meanwhile get it anyway.
    gc firestore fields ttls update "$field" --collection-group="$collection" --enable-ttl --async
  fi
done
# Composite indexes of the data layer's queries, declared in functions/firestore.indexes.json (a unit test checks
# every query the library's find builds against it): only the missing ones are created. --async: an index builds
# for minutes; the queries that need it fail until then, so a first deploy says so.
indexes=""
[ "$DRY_RUN" = 1 ] || indexes=$($G firestore indexes composite list --format=json)
missing_indexes=$("$PY" scripts/firestore_indexes.py missing <<<"$indexes") || die "could not compare Firestore indexes"
if [ -z "$missing_indexes" ]; then
  ok "every composite index of functions/firestore.indexes.json exists"
else
  while IFS= read -r index_flags; do
    # shellcheck disable=SC2086  # one index's flags, split on spaces (none inside a flag)
    gc firestore indexes composite create $index_flags --async
  done <<<"$missing_indexes"
  note "new indexes build in the background (minutes): finding videos by owner, status or title waits for them"
fi

say "Cloud Tasks queues"
for line in "${MANIFEST[@]}"; do
  set -- $line; [ "$1" = queue ] || continue
  q=$2; shift 2
  settings=("$@"); flags=()
  for kv in "${settings[@]}"; do k=${kv%%=*}; v=${kv#*=}; flags+=("--${k//_/-}=$v"); done
  if [ "$DRY_RUN" = 1 ]; then
    gc tasks queues create "$q" --location="$REGION" "${flags[@]}"
    gc tasks queues update "$q" --location="$REGION" "${flags[@]}"
  elif ! current=$(read_gc tasks queues describe "$q" --location="$REGION" --format=json); then
    gc tasks queues create "$q" --location="$REGION" "${flags[@]}"
  elif $STATE queue-same "${settings[@]}" <<<"$current"; then
    ok "queue $q has the manifest's settings"
  else
    gc tasks queues update "$q" --location="$REGION" "${flags[@]}"
  fi
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
  # Only secrets that exist are granted: a missing optional one leaves its setting empty (the feature is off).
  secret_flags=""; skipped=""
  if [ "$secrets" != "-" ]; then
    for s in ${secrets//,/ }; do
      if [ -n "${SECRET_REF[$s]:-}" ]; then secret_flags+="${secret_flags:+,}$s=${SECRET_REF[$s]}"; else skipped+=" $s"; fi
    done
  fi
  auth_flag=--no-allow-unauthenticated; [ "$exposure" = public ] && auth_flag=--allow-unauthenticated
  args=(functions deploy "$name" --gen2 --runtime=python312 --region="$REGION" --source="$stage"
        --entry-point="$entry" --trigger-http "$auth_flag" --service-account="$RUNTIME_SA"
        --build-service-account="projects/$PROJECT/serviceAccounts/$BUILD_SA"
        --env-vars-file="$stage/.env.deploy.yaml" --timeout="${timeout}s" --memory=512Mi --cpu=1 --concurrency=8)
  if [ -n "$secret_flags" ]; then args+=(--set-secrets="$secret_flags"); elif [ "$secrets" != "-" ]; then args+=(--clear-secrets); fi
  [ -z "$skipped" ] || note "$name deploys without${skipped} (optional, not set)"
  if [ "$DRY_RUN" = 1 ]; then
    gc "${args[@]}" --update-labels=mam-deploy='<hash of the staged source and these flags>'
  else
    hash=$($STATE tree-hash "$stage" "${args[@]}")
    current=$(read_gc functions describe "$name" --region="$REGION" --format=json || true)
    if [ "$REDEPLOY" = 0 ] && $STATE function-current "$hash" <<<"$current"; then
      ok "function $name is deployed with this source and these settings"
    else
      gc "${args[@]}" --update-labels=mam-deploy="$hash"
      current=$(read_gc functions describe "$name" --region="$REGION" --format=json || true)
    fi
  fi
  if [ "$exposure" = private ]; then
    # Only the tasks account may call a private function (gen2: run.invoker on its Cloud Run service).
    service=""
    [ "$DRY_RUN" = 1 ] || service=$($STATE function-field serviceConfig.service <<<"$current")
    if [ -n "$service" ] && read_gc run services get-iam-policy "${service##*/}" --region="$REGION" --format=json \
         | $STATE has-binding roles/run.invoker "serviceAccount:$TASKS_SA"; then
      ok "$TASKS_SA may invoke $name"
    else
      gc_retry functions add-invoker-policy-binding "$name" --region="$REGION" --member="serviceAccount:$TASKS_SA"
    fi
  fi
done

if [ "$SKIP_FRONTEND" = 0 ] && [ -z "$ONLY" ]; then
  say "Front end (B2 + bunny.net)"
  run npm --prefix frontend ci --no-audit --no-fund
  run npm --prefix frontend run build
  # publish_frontend.py needs the B2 key; when it is not in the shell, Secret Manager's copy is handed to it alone.
  if [ "$DRY_RUN" = 0 ] && [ -z "${B2_APPLICATION_KEY:-}" ] && [ -n "${SECRET_REF[B2_APPLICATION_KEY]:-}" ]; then
    ref=${SECRET_REF[B2_APPLICATION_KEY]}
    B2_APPLICATION_KEY=$(read_gc secrets versions access "${ref#*:}" --secret="${ref%%:*}" --format='get(payload.data)' | $STATE decode)
    export B2_APPLICATION_KEY
  fi
  # Uploads what changed in frontend/dist (with its config.json and Cache-Control headers) and sets the bucket's
  # CORS rule if it differs; the CDN is purged only when something was written.
  published=$(mktemp)
  echo 1 > "$published"
  run "$PY" scripts/publish_frontend.py --env-file "$ENV_FILE" --functions-base-url "$FUNCTIONS_BASE_URL" \
    --changes-file "$published"
  written=$(cat "$published"); rm -f "$published"
  [ "$DRY_RUN" = 1 ] || CHANGES=$((CHANGES + written))
  ZONE=$(setting BUNNY_PULL_ZONE_ID)
  if [ -n "$ZONE" ] && [ "$written" = 0 ]; then
    ok "front end unchanged: no bunny.net purge"
  elif [ -n "$ZONE" ]; then
    printf '+ curl -X POST https://api.bunny.net/pullzone/%s/purgeCache -H "AccessKey: $BUNNY_API_KEY"\n' "$ZONE"
    if [ "$DRY_RUN" = 0 ]; then
      [ -n "${BUNNY_API_KEY:-}" ] || die "BUNNY_PULL_ZONE_ID is set but BUNNY_API_KEY is not in the environment"
      curl -fsS -X POST "https://api.bunny.net/pullzone/$ZONE/purgeCache" -H "AccessKey: $BUNNY_API_KEY" >/dev/null
    fi
  fi
fi

say "Done"
if [ "$DRY_RUN" = 1 ]; then
  echo "Dry run: nothing was called."
elif [ "$CHANGES" = 0 ]; then
  echo "Nothing to change: the project already matched (run with --redeploy to deploy the functions anyway)."
else
  echo "$CHANGES change(s) made."
fi
echo "Front-end origin: $(setting FRONTEND_ORIGIN)   Functions: $FUNCTIONS_BASE_URL/<name>"
if [ ${#FEATURES_OFF[@]} -gt 0 ]; then
  echo "Features off (optional secrets not set):"
  for s in "${FEATURES_OFF[@]}"; do echo "  - $s: $(feature_off "$s")"; done
fi
echo "Next: ./deploy.sh --verify checks the live deployment and says what to fix."
